"""The `ics_benchmark` kind: baseline anomaly detectors trained on a normal run of a plant and scored
on an attack run (every technique of the catalogue, planned from the job's seed) with point-wise F1,
point-adjusted F1 and eTaPR, per technique.

Why a job and not a synchronous evaluation: a benchmark simulates two runs and fits three detectors
(seconds to a minute a simulated day), and its result is evidence worth sealing: `benchmark.json` is
the job's artifact, so it is sealed with the job like any other. `GET /v1/leaderboards/ics` ranks
the detectors of the tenant's benchmarks. The params go to `simulators.detection.benchmark`, which
validates them and names the field at fault; the job's seed seeds both runs and the detectors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import marshmallow as ma

from appliance.kinds.base import Estimate, JobCanceled, JobContext, JobFailed, Kind, ParamError

if TYPE_CHECKING:
    from simulators.detection.benchmark import BenchmarkRequest

NAME = "ics_benchmark"
ARTIFACT = "benchmark.json"


class BenchmarkParams(ma.Schema):
    """Passed through to `simulators.detection.benchmark`, which knows every field."""

    class Meta:
        unknown = ma.INCLUDE


def _request(params: Mapping[str, Any], seed: int) -> BenchmarkRequest:
    from simulators.detection.benchmark import prepare
    from simulators.errors import SimulationParamError

    if "seed" in params:
        raise ParamError("seed", "use the job's `seed`, not a params seed, so the contract records it once")
    try:
        return prepare({**params, "seed": seed})
    except SimulationParamError as exc:
        raise ParamError(exc.field, exc.message) from exc


def _estimate(params: dict[str, Any]) -> Estimate:
    req = _request(params, 0)
    return Estimate(rows=int((req.duration + req.train_duration) * req.sample_rate), seconds=req.estimate_seconds())


def _check(params: dict[str, Any]) -> None:
    _request(params, 0)


def leaderboard_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per detector for the leaderboard: the overall scores of a benchmark's result."""
    return [{"detector": d["detector"], **{k: d["overall"][k] for k in ("f1", "pa_f1", "etapr_f1")},
             "normal_alarm_rate": d["normal_alarm_rate"]} for d in result.get("detectors", [])]


def _run(ctx: JobContext) -> None:
    from simulators.detection.benchmark import run
    from simulators.errors import SimulationCancelled, SimulationParamError

    req = _request(ctx.params, ctx.seed)

    def progress(fraction: float, message: str) -> None:
        ctx.progress(fraction, message=message)

    try:
        result = run(req, progress, ctx.is_canceled)
    except SimulationCancelled as exc:
        raise JobCanceled() from exc
    except SimulationParamError as exc:
        raise JobFailed("SIMULATION_INVALID", str(exc)) from exc
    out = ctx.work_dir / ARTIFACT
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    ctx.add_artifact(out, ARTIFACT, "application/json")
    ctx.set_result({"plant": req.plant, "artifact": ARTIFACT, "techniques": result["techniques"],
                    "rows": result["rows"], "detectors": leaderboard_rows(result)})
    ctx.progress(1.0, message="done")


KIND = Kind(
    name=NAME,
    queue="default",
    summary="Detection benchmark: baseline detectors trained on normal data, scored on every attack technique.",
    params_schema=BenchmarkParams,
    estimate=_estimate,
    run=_run,
    check=_check,
)
