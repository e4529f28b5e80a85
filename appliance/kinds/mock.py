"""The `mock` kind: seeded rows from a table schema, or from a plain-English description.

Two forms, one generator. With ``schema`` the rows follow it. With ``description`` (the published
API's ``{"rows": 100000, "description": "customer transaction records"}``) the offline planner
(``appliance.services.fabricate``) turns the text into a plan at submit; the plan goes into the
params, so the contract seals exactly the schema that produced the rows, and ``rows`` sets the row
count of every table that has a fixed one. The `fabricate` kind is the same planned form under its
older name: it delegates to ``plan_params`` and ``run_plan`` here.

The engine (``appliance.services.mock``) is vectorised and chunked, so a run of any size keeps
memory flat; the same schema (or description, rows and seed) gives byte-identical files.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import marshmallow as ma

from appliance.kinds.base import Estimate, JobCanceled, JobContext, JobFailed, Kind, ParamError

# The engine's output formats (appliance.services.mock.writers.MOCK_FORMATS; a test keeps them equal),
# named here so the registry loads without importing the engine and its scientific stack.
MOCK_FORMATS = ("csv", "jsonl", "parquet")
MEDIA_TYPES = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv", "jsonl": "application/jsonl"}
# Calibrated on a 2-core CPU box by bench/estimates.py (docs/benchmarks.md, "Estimates vs actual"):
# ~1.4 M rows/s once generation dominates; below ~140 k rows a job is its fixed cost.
ROWS_PER_SECOND = 1_400_000
FIXED_SECONDS = 0.1
MAX_PLAN_ROWS = 10_000_000_000  # the engine's own cap (appliance.services.mock.validate.MAX_ROWS)
PLANNED = ("description", "rows", "plan")


class MockParams(ma.Schema):
    schema = ma.fields.Dict(
        load_default=None, metadata={"description": "A mock schema (docs/mock-schema.md); or give a description"}
    )
    description = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=3, max=2000),
        metadata={"description": "Plain English; planned into a schema at submit (sealed in the contract)"},
    )
    rows = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=1, max=MAX_PLAN_ROWS),
        metadata={"description": "With a description: the row count of every table with a fixed count"},
    )
    plan = ma.fields.Dict(
        load_default=None,
        allow_none=True,
        metadata={"description": "With a description: a plan from POST /v1/fabricate/plan, edited if you like"},
    )
    format = ma.fields.String(load_default="parquet", validate=ma.validate.OneOf(MOCK_FORMATS))


def check_schema(schema: dict[str, Any], prefix: str = "schema") -> None:
    from appliance.services.mock import SchemaError, validate_schema

    try:
        validate_schema(schema)
    except SchemaError as exc:
        raise ParamError(f"{prefix}.{exc.field_path}" if exc.field_path else prefix, exc.message) from exc


def check(params: dict[str, Any]) -> None:
    if params.get("schema") is None:
        if params.get("description") is None:
            raise ParamError("schema", "give a schema, or a description to plan one from")
        return
    for name in PLANNED:
        if params.get(name) is not None:
            raise ParamError(name, "applies to a description; a schema sets its own row counts")
    check_schema(params["schema"])


def with_rows(plan: dict[str, Any], rows: int) -> dict[str, Any]:
    """The plan with ``rows`` in every table that has a fixed row count (child tables keep their
    per-parent counts), and the planner's "no row count" warnings dropped, as rows now says it."""
    out = copy.deepcopy(plan)
    for table in out["schema"]["tables"]:
        if table.get("rows") is not None:
            table["rows"] = rows
    for table in out.get("tables") or []:
        if table.get("rows") is not None:
            table["rows"] = rows
    out["warnings"] = [w for w in out.get("warnings") or [] if not str(w).startswith("no row count for")]
    out["rows"] = rows
    return out


def plan_params(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """The planned form's params: the plan made now (or the caller's), ``rows`` applied, checked."""
    from appliance.services.fabricate import plan_from_description

    plan = params.get("plan") or plan_from_description(params["description"], seed)
    if not isinstance(plan.get("schema"), dict) or not isinstance(plan["schema"].get("tables"), list):
        raise ParamError("plan.schema", "a plan needs a `schema` object with `tables`")
    if params.get("rows") is not None:
        plan = with_rows(plan, params["rows"])
    check_schema(plan["schema"], "plan.schema")
    return {**params, "plan": plan}


def prepare(params: dict[str, Any], seed: int) -> dict[str, Any]:
    if params.get("schema") is not None:  # the schema form's contract is {schema, format}, as it always was
        return {"schema": params["schema"], "format": params["format"]}
    return {k: v for k, v in plan_params(params, seed).items() if k != "schema"}


def schema_of(params: dict[str, Any]) -> dict[str, Any]:
    return params["plan"]["schema"] if params.get("plan") else params["schema"]


def estimate(params: dict[str, Any]) -> Estimate:
    from appliance.services.mock.generation import row_counts

    rows = sum(row_counts(schema_of(params), 0).values())
    return Estimate(rows=rows, seconds=round(max(FIXED_SECONDS, rows / ROWS_PER_SECOND), 2))


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


def run_plan(ctx: JobContext, plan: dict[str, Any], fmt: str) -> None:
    """The planned form: ``plan.json`` beside the rows, so what was generated is readable as well as sealed."""
    (ctx.work_dir / "plan.json").write_text(json.dumps(plan, indent=2, sort_keys=True) + "\n")
    ctx.add_artifact(ctx.work_dir / "plan.json", "plan.json", "application/json")
    rows = write_tables(ctx, plan["schema"], fmt)
    ctx.set_result({"rows": rows, "tables": len(plan["schema"]["tables"]), "warnings": plan.get("warnings", [])})
    ctx.progress(1.0, rows=rows, message="done")


def run(ctx: JobContext) -> None:
    if ctx.params.get("plan"):
        run_plan(ctx, ctx.params["plan"], ctx.params["format"])
        return
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
    prepare=prepare,
    interactive=True,
)
