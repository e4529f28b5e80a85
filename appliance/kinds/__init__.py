"""The job-kind registry: every kind, its params schema, queue, estimate and run function.

Kinds not built yet are listed with ``run=None``; submitting one answers 400 KIND_NOT_AVAILABLE
instead of a fake result.
"""

from __future__ import annotations

from appliance.kinds import analyze, fabricate, fit, lift, mock, simulation, verify
from appliance.kinds.base import Kind

_PENDING = (
    Kind("synthesize", "gpu", "Rows from a trained generative model.", deterministic=True),
    Kind("train", "gpu", "Train a generative model on a dataset.", deterministic=False),
)

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
        *_PENDING,
    )
}


def get_kind(name: str) -> Kind | None:
    return REGISTRY.get(name)
