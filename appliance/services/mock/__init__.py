"""The mock-data engine: seeded, vectorised, chunked rows from a JSON table schema.

Public API (no Flask, no job engine; the ``mock`` job kind and the HTTP endpoints wrap it):

- ``validate_schema(schema) -> NormalizedSchema`` — raises ``SchemaError(field_path, message)``
- ``preview(schema, rows, seed) -> {table: [row dict, ...]}``
- ``row_counts(schema, seed) -> {table: rows}`` — exact sizes, for cost estimates
- ``generate(schema, seed, out_dir, fmt, chunk_size, progress, should_cancel) -> [OutputFile]``
- ``infer_schema(table) -> schema dict`` — a schema that mimics real data
- ``fit_stats(table) -> dict`` and ``compare_fits(a, b) -> dict`` — summary statistics and distances

The schema format is documented in ``docs/mock-schema.md``.
"""

from .errors import GenerationCanceled, SchemaError
from .fit import compare_fits, fit_stats
from .generation import DEFAULT_CHUNK_ROWS, MAX_PREVIEW_ROWS, OutputFile, generate, preview, row_counts
from .infer import infer_schema
from .model import NormalizedSchema
from .validate import validate_schema

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "MAX_PREVIEW_ROWS",
    "GenerationCanceled",
    "NormalizedSchema",
    "OutputFile",
    "SchemaError",
    "compare_fits",
    "fit_stats",
    "generate",
    "infer_schema",
    "preview",
    "row_counts",
    "validate_schema",
]
