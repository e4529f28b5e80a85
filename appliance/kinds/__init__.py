"""The job-kind registry: every kind, its params schema, queue, estimate and run function."""

from __future__ import annotations

from appliance.kinds import analyze, connectors, fabricate, fit, ics_benchmark, lift, mock, simulation, verify
from appliance.kinds.base import Kind
from appliance.kinds.synth import synthesize, train

REGISTRY: dict[str, Kind] = {
    k.name: k
    for k in (
        verify.KIND,
        mock.KIND,
        analyze.KIND,
        fit.KIND,
        fabricate.KIND,
        simulation.SIMULATE,
        simulation.SCENARIO_FABRICATE,
        lift.KIND,
        ics_benchmark.KIND,
        synthesize.KIND,
        train.KIND,
        connectors.IMPORT,
        connectors.DELIVER,
    )
}


def get_kind(name: str) -> Kind | None:
    return REGISTRY.get(name)
