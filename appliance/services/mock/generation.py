"""The entry points the job kinds and HTTP endpoints call: ``preview`` and ``generate``.

Both take the schema as a plain dict (or an already validated ``NormalizedSchema``) and a seed;
the same pair always yields the same rows, and ``generate`` the same bytes, whatever chunk size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine import TableEngine
from .errors import GenerationCanceled, SchemaError
from .model import NormalizedSchema
from .relations import Layout
from .validate import validate_schema
from .writers import MOCK_FORMATS, AtomicFile

DEFAULT_CHUNK_ROWS = 65_536
MAX_PREVIEW_ROWS = 1_000
MAX_SEED = 2**63 - 1

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


@dataclass(frozen=True)
class OutputFile:
    """One written file: which table, where, how many rows, which format."""

    table: str
    path: Path
    rows: int
    format: str


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise SchemaError("seed", f"must be an integer between 0 and {MAX_SEED}")
    return seed


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


def row_counts(schema: dict[str, Any] | NormalizedSchema, seed: int) -> dict[str, int]:
    """Exact rows per table for this seed (child tables depend on it); cheap, writes nothing.

    Useful for a cost estimate before a job runs (credits are priced per generated row).
    """
    norm = validate_schema(schema)
    return dict(Layout(norm, _check_seed(seed)).totals)


def preview(
    schema: dict[str, Any] | NormalizedSchema, rows: int = 20, seed: int = 0
) -> dict[str, list[dict[str, Any]]]:
    """The first ``rows`` rows (at most 1,000) of every table, as JSON-ready dicts.

    They are exactly the first rows ``generate`` would write with the same seed. Dates, times
    and timestamps come back as ISO 8601 text.
    """
    if isinstance(rows, bool) or not isinstance(rows, int) or not 1 <= rows <= MAX_PREVIEW_ROWS:
        raise SchemaError("rows", f"must be an integer between 1 and {MAX_PREVIEW_ROWS}")
    norm = validate_schema(schema)
    layout = Layout(norm, _check_seed(seed))
    out: dict[str, list[dict[str, Any]]] = {}
    for table in norm.tables:
        batch = TableEngine(norm, table, seed, layout).rows(0, rows)
        out[table.name] = [{k: _jsonable(v) for k, v in row.items()} for row in batch.to_pylist()]
    return out


def generate(
    schema: dict[str, Any] | NormalizedSchema,
    seed: int,
    out_dir: str | Path,
    fmt: str = "parquet",
    chunk_size: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
    should_cancel: Cancel | None = None,
) -> list[OutputFile]:
    """Write every table to ``out_dir/<table>.<fmt>`` and return what was written.

    ``chunk_size`` is the number of rows produced per step: it bounds memory and sets how often
    ``progress(rows_done, rows_total)`` and ``should_cancel()`` are called; it never changes the
    output. On cancel (``GenerationCanceled``) or error, every file of this call is removed.
    """
    if fmt not in MOCK_FORMATS:
        raise SchemaError("format", f"unknown format {fmt!r}; known: {', '.join(MOCK_FORMATS)}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or not 1 <= chunk_size <= 10_000_000:
        raise SchemaError("chunk_size", "must be an integer between 1 and 10,000,000")
    norm = validate_schema(schema)
    layout = Layout(norm, _check_seed(seed))
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    total = sum(layout.totals.values())
    done = 0
    written: list[OutputFile] = []
    current: AtomicFile | None = None
    try:
        for table in norm.tables:
            engine = TableEngine(norm, table, seed, layout)
            path = directory / f"{table.name}.{MOCK_FORMATS[fmt]}"
            current = AtomicFile(path, fmt, engine.arrow_schema, engine.dictionary_columns)
            for batch in engine.batches(chunk_size):
                if should_cancel is not None and should_cancel():
                    raise GenerationCanceled("generation canceled")
                current.sink.write(batch)
                done += batch.num_rows
                if progress is not None:
                    progress(done, total)
            current.commit()
            written.append(OutputFile(table.name, current.path, engine.total, fmt))
            current = None
    except BaseException:
        if current is not None:
            current.abort()
        for item in written:
            item.path.unlink(missing_ok=True)
        raise
    return written
