"""The `analyze` kind: profile one dataset and infer a mock schema from it.

Upload real data, analyze it, edit the inferred schema, and mock it at any scale. The profile is
also what GET /v1/datasets/{id}/profile serves (cached: computed once, by this job).
"""

from __future__ import annotations

import json

import marshmallow as ma

from appliance import jsonsafe
from appliance.kinds.base import MAX_ROWS, Estimate, JobContext, Kind, read_input


class AnalyzeParams(ma.Schema):
    max_rows = ma.fields.Integer(load_default=MAX_ROWS, validate=ma.validate.Range(min=1, max=MAX_ROWS))


def run(ctx: JobContext) -> None:
    from appliance.services.datasets.profile import profile

    ctx.progress(0.05, message="reading the dataset")
    table = read_input(ctx, ctx.params["max_rows"])
    ctx.check_cancel()
    ctx.progress(0.5, message=f"profiling {table.num_rows:,} rows")
    result = profile(table, ctx.inputs[0].name)
    result["dataset_id"] = ctx.inputs[0].dataset_id
    (ctx.work_dir / "profile.json").write_text(jsonsafe.dumps(result, indent=2, sort_keys=True, default=str) + "\n")
    (ctx.work_dir / "schema.json").write_text(json.dumps(result["inferred_schema"], indent=2, sort_keys=True) + "\n")
    ctx.add_artifact(ctx.work_dir / "profile.json", "profile.json", "application/json")
    ctx.add_artifact(ctx.work_dir / "schema.json", "schema.json", "application/json")
    ctx.set_result({"dataset_id": ctx.inputs[0].dataset_id, "rows": table.num_rows, "columns": table.num_columns})
    ctx.progress(1.0, message="profiled")


KIND = Kind(
    name="analyze",
    queue="default",
    summary="Column profiling and schema inference.",
    params_schema=AnalyzeParams,
    # seconds from bench/estimates.py (a 1e5-row upload profiles in ~0.1 s on 2 cores); params only, so
    # the input's size is not known here
    estimate=lambda _params: Estimate(rows=0, seconds=0.1),
    run=run,
    min_inputs=1,
    max_inputs=1,
)
