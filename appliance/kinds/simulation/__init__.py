"""The `simulate` and `scenario_fabricate` kinds: physics-based SCADA/ICS telemetry, labelled.

Both hand their params to `simulators` (which validates them, fills every default, and names the
field at fault), with the job's seed, so the same contract gives byte-identical telemetry. The
dataset streams to Parquet or CSV; the manifest (the complete request, the attack scenarios and
the label counts) rides beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import marshmallow as ma

from appliance.kinds.base import Estimate, JobCanceled, JobContext, JobFailed, Kind, ParamError
from appliance.kinds.simulation import live

if TYPE_CHECKING:
    from simulators.validation import SimulationRequest

MEDIA = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv"}
Prepare = Callable[[Mapping[str, Any]], "SimulationRequest"]
# `simulators` guesses pessimistically (0.5 s + its per-scan cost); bench/estimates.py measured the
# scans at ~0.8 of that guess and the fixed cost at ~0.05 s on a 2-core CPU box, for every plant.
SCAN_FACTOR = 0.8
FIXED_SECONDS = 0.05
GUESS_FIXED_S = 0.5


class SimulationParams(ma.Schema):
    """Passed through to `simulators` as a whole; it knows every field and reports the bad one."""

    class Meta:
        unknown = ma.INCLUDE


def _prepare(kind: str) -> Prepare:
    """The simulators' validator for ``kind``, imported on first use (it brings numpy and scipy)."""
    from simulators import validation

    return validation.prepare_simulate if kind == "simulate" else validation.prepare_scenario_fabricate


def _request(kind: str, params: dict[str, Any], seed: int) -> SimulationRequest:
    from simulators.errors import SimulationParamError

    if "seed" in params:
        raise ParamError("seed", "use the job's `seed`, not a params seed, so the contract records it once")
    try:
        return _prepare(kind)({**params, "seed": seed})
    except SimulationParamError as exc:
        raise ParamError(exc.field, exc.message) from exc


def _estimate(kind: str) -> Callable[[dict[str, Any]], Estimate]:
    def estimate(params: dict[str, Any]) -> Estimate:
        if "live" in params:
            return live.estimate(params)
        guess = _request(kind, params, 0).estimate()
        seconds = FIXED_SECONDS + max(0.0, guess["seconds"] - GUESS_FIXED_S) * SCAN_FACTOR
        return Estimate(rows=int(guess["rows"]), seconds=round(seconds, 2))

    return estimate


def _run(kind: str) -> Callable[[JobContext], None]:
    def run(ctx: JobContext) -> None:
        if "live" in ctx.params:
            live.run(ctx)
            return
        from simulators.dataset import write_dataset, write_manifest
        from simulators.errors import SimulationCancelled, SimulationParamError
        from simulators.profiles import file_name

        req = _request(kind, ctx.params, ctx.seed)
        out = ctx.work_dir / file_name(req)

        def progress(done: int, total: int) -> None:
            ctx.progress(done / total if total else 1.0, rows=done, message=f"{done:,} of {total:,} rows")

        try:
            manifest = write_dataset(req, out, progress=progress, cancel=ctx.is_canceled)
        except SimulationCancelled as exc:
            raise JobCanceled() from exc
        except SimulationParamError as exc:
            raise JobFailed("SIMULATION_INVALID", str(exc)) from exc
        manifest_path = ctx.work_dir / "manifest.json"
        write_manifest(manifest, manifest_path)
        ctx.add_artifact(out, out.name, MEDIA[req.format])
        ctx.add_artifact(manifest_path, "manifest.json", "application/json")
        ctx.set_result(
            {
                "plant": req.plant,
                "rows": req.total_rows,
                "attacks": len(manifest.get("attacks", [])),
                "attack_rows": manifest.get("labels", {}).get("attack_rows"),
            }
        )
        ctx.progress(1.0, rows=req.total_rows, message="done")

    return run


def _check(kind: str) -> Callable[[dict[str, Any]], None]:
    def check(params: dict[str, Any]) -> None:
        if "live" in params:
            if kind != "simulate":
                raise ParamError("live", "only a `simulate` job can run live")
            live.check(params)
            return
        _request(kind, params, 0)

    return check


SIMULATE = Kind(
    name="simulate",
    queue="default",
    summary="Physics-based SCADA/ICS telemetry, with optional attacks.",
    params_schema=SimulationParams,
    estimate=_estimate("simulate"),
    run=_run("simulate"),
    check=_check("simulate"),
)

SCENARIO_FABRICATE = Kind(
    name="scenario_fabricate",
    queue="default",
    summary="SCADA/ICS scenario packs: an attack mix planned from the seed, every row labelled.",
    params_schema=SimulationParams,
    estimate=_estimate("scenario_fabricate"),
    run=_run("scenario_fabricate"),
    check=_check("scenario_fabricate"),
)
