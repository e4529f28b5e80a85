"""The `mock` kind: seeded rows from a table schema, written as Parquet, CSV or JSON Lines.

The engine (``appliance.services.mock``) is vectorised and chunked, so a run of any size keeps
memory flat; the same schema and seed give byte-identical files.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from appliance.kinds.base import Estimate, JobCanceled, JobContext, JobFailed, Kind, ParamError

# The engine's output formats (appliance.services.mock.writers.MOCK_FORMATS; a test keeps them equal),
# named here so the registry loads without importing the engine and its scientific stack.
MOCK_FORMATS = ("csv", "jsonl", "parquet")
MEDIA_TYPES = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv", "jsonl": "application/jsonl"}
ROWS_PER_SECOND = 2_000_000


class MockParams(ma.Schema):
    schema = ma.fields.Dict(required=True, metadata={"description": "A mock schema; see docs/mock-schema.md"})
    format = ma.fields.String(load_default="parquet", validate=ma.validate.OneOf(MOCK_FORMATS))


def check(params: dict[str, Any]) -> None:
    from appliance.services.mock import SchemaError, validate_schema

    try:
        validate_schema(params["schema"])
    except SchemaError as exc:
        raise ParamError(f"schema.{exc.field_path}" if exc.field_path else "schema", exc.message) from exc


def estimate(params: dict[str, Any]) -> Estimate:
    from appliance.services.mock.generation import row_counts

    rows = sum(row_counts(params["schema"], 0).values())
    return Estimate(rows=rows, seconds=max(1.0, rows / ROWS_PER_SECOND))


def write_tables(ctx: JobContext, schema: dict[str, Any], fmt: str) -> int:
    """Generate every table into the work dir and register each file as an artifact."""
    from appliance.services.mock import GenerationCanceled, SchemaError, generate

    def progress(done: int, total: int) -> None:
        ctx.progress(done / total if total else 1.0, rows=done, message=f"{done:,} of {total:,} rows")

    try:
        files = generate(schema, ctx.seed, ctx.work_dir, fmt, progress=progress, should_cancel=ctx.is_canceled)
    except GenerationCanceled as exc:
        raise JobCanceled() from exc
    except SchemaError as exc:  # what only the data reveals, e.g. a derived column overflowing
        field = f"schema.{exc.field_path}" if exc.field_path else "schema"
        raise JobFailed("VALIDATION_FAILED", f"{field}: {exc.message}") from exc
    for item in files:
        ctx.add_artifact(item.path, item.path.name, MEDIA_TYPES[fmt])
    return sum(item.rows for item in files)


def run(ctx: JobContext) -> None:
    rows = write_tables(ctx, ctx.params["schema"], ctx.params["format"])
    ctx.set_result({"rows": rows, "tables": len(ctx.params["schema"].get("tables", []))})
    ctx.progress(1.0, rows=rows, message="done")


KIND = Kind(
    name="mock",
    queue="default",
    summary="Seeded rows from a schema or a description.",
    params_schema=MockParams,
    estimate=estimate,
    run=run,
    check=check,
)
