"""The `lift` kind: raw historian telemetry → a typed world state (tags, types, units, ranges,
sample rate) matched to the closest plant model, so real plant data can seed a simulation."""

from __future__ import annotations

import json

import marshmallow as ma

from appliance.kinds.base import MAX_ROWS, Estimate, JobContext, JobFailed, Kind, read_input


class LiftParams(ma.Schema):
    max_rows = ma.fields.Integer(load_default=MAX_ROWS, validate=ma.validate.Range(min=1, max=MAX_ROWS))


def run(ctx: JobContext) -> None:
    from simulators.errors import SimulationParamError
    from simulators.lift import lift

    ctx.progress(0.05, message="reading telemetry")
    table = read_input(ctx, ctx.params["max_rows"])
    ctx.check_cancel()
    try:
        world = lift(table)
    except SimulationParamError as exc:
        raise JobFailed("LIFT_FAILED", f"{exc.field}: {exc.message}") from exc
    world["dataset_id"] = ctx.inputs[0].dataset_id
    out = ctx.work_dir / "world_state.json"
    out.write_text(json.dumps(world, indent=2, sort_keys=True, default=str) + "\n")
    ctx.add_artifact(out, "world_state.json", "application/json")
    plant = world.get("plant") or {}
    ctx.set_result(
        {
            "dataset_id": ctx.inputs[0].dataset_id,
            "tags": len(world.get("tags", [])),
            "plant": plant.get("name"),
            "score": plant.get("score"),
        }
    )
    ctx.progress(1.0, message="lifted")


KIND = Kind(
    name="lift",
    queue="default",
    summary="Raw historian telemetry into a typed world state.",
    params_schema=LiftParams,
    estimate=lambda _params: Estimate(rows=0, seconds=5.0),
    run=run,
    min_inputs=1,
    max_inputs=1,
)
