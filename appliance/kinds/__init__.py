"""The job-kind registry: every kind, its params schema, queue, estimate and run function.

Kinds not built yet are listed with ``run=None``; submitting one answers 400 KIND_NOT_AVAILABLE
instead of a fake result.
"""

from __future__ import annotations

from appliance.kinds import analyze, fabricate, fit, lift, mock, simulation, synthesize, train, verify
from appliance.kinds.base import Kind

_PENDING: tuple[Kind, ...] = ()

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
        synthesize.KIND,
        train.KIND,
        *_PENDING,
    )
}


def get_kind(name: str) -> Kind | None:
    return REGISTRY.get(name)
