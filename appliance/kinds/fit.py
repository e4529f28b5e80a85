"""The `fit` kind: summary statistics of a dataset, sealed, to compare a synthetic set with its source.

Two fits are compared with GET /v1/fits/compare?a=&b= (per-column KS/TVD and the correlation gap).
"""

from __future__ import annotations

import marshmallow as ma

from appliance import jsonsafe
from appliance.kinds.base import MAX_ROWS, Estimate, JobContext, Kind, read_input


class FitParams(ma.Schema):
    max_rows = ma.fields.Integer(load_default=MAX_ROWS, validate=ma.validate.Range(min=1, max=MAX_ROWS))


def run(ctx: JobContext) -> None:
    from appliance.services.mock import fit_stats

    ctx.progress(0.05, message="reading the dataset")
    table = read_input(ctx, ctx.params["max_rows"])
    ctx.check_cancel()
    stats = fit_stats(table) | {"dataset_id": ctx.inputs[0].dataset_id}
    (ctx.work_dir / "fit.json").write_text(jsonsafe.dumps(stats, indent=2, sort_keys=True, default=str) + "\n")
    ctx.add_artifact(ctx.work_dir / "fit.json", "fit.json", "application/json")
    ctx.set_result({"dataset_id": ctx.inputs[0].dataset_id, "rows": table.num_rows, "columns": table.num_columns})
    ctx.progress(1.0, message="fitted")


KIND = Kind(
    name="fit",
    queue="default",
    summary="Summary statistics of a dataset, stored with its seal.",
    params_schema=FitParams,
    # seconds from bench/estimates.py (a 1e5-row upload fits in ~0.06 s on 2 cores); params only, so
    # the input's size is not known here
    estimate=lambda _params: Estimate(rows=0, seconds=0.07),
    run=run,
    min_inputs=1,
    max_inputs=1,
)
