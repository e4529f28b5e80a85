"""The kind registry: every kind is wired the way the job engine expects to call it.

The engine looks kinds up by name, routes them to `kind.queue`, checks input counts against
`min_inputs`/`max_inputs`, validates params with `operations.validate_params` (schema, then
`check`), completes them with `prepare`, and prices them with `kind.estimate`. These tests call
the same functions on every registered kind, so a new kind that is wired wrong fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from appliance.errors import AppError
from appliance.jobs import operations
from appliance.jobs.queues import QUEUES
from appliance.kinds import REGISTRY, get_kind
from appliance.kinds.base import Estimate, Kind
from appliance.services.synth.pricing import training_price
from tests.conftest import mock_schema

# The smallest params each kind accepts; kinds missing here default to {} (all their fields optional).
MINIMAL_PARAMS: dict[str, dict[str, Any]] = {
    "verify": {"job_id": "job_01JD0000000000000000000000"},
    "mock": {"schema": mock_schema(rows=10)},
    "fabricate": {"description": "a few sensors with temperature and pressure"},
    "simulate": {"plant": "water", "duration": 60},
    "scenario_fabricate": {"plant": "water", "duration": 3600, "mix": [{"technique": "T0831", "count": 1}]},
    "ics_benchmark": {"plant": "water"},
    "connector_import": {
        "connector": {"id": "con_01JD0000000000000000000000", "type": "folder", "settings": {"path": "/mnt"}},
        "source": {"path": "flows.csv"},
    },
    "connector_deliver": {
        "connector": {"id": "con_01JD0000000000000000000000", "type": "folder", "settings": {"path": "/mnt"}},
        "target": {},
        "job_id": "job_01JD0000000000000000000000",
    },
}

# Tiers an estimate may name: the CPU default and the training tiers pricing hands out.
KNOWN_TIERS = {Estimate().tier, training_price("gaussian_copula", None).tier, training_price("ctgan", None).tier}

UNKNOWN_FIELD = "no_such_param_xyz"

KINDS = sorted(REGISTRY)


def _kind(name: str) -> Kind:
    kind = REGISTRY[name]
    assert get_kind(name) is kind
    return kind


def test_registry_is_not_empty_and_lookup_misses_unknown() -> None:
    assert len(REGISTRY) >= 1
    assert get_kind("no-such-kind") is None


@pytest.mark.parametrize("name", KINDS)
def test_kind_is_keyed_by_its_own_name(name: str) -> None:
    assert _kind(name).name == name


@pytest.mark.parametrize("name", KINDS)
def test_kind_routes_to_a_known_queue(name: str) -> None:
    assert _kind(name).queue in QUEUES


@pytest.mark.parametrize("name", KINDS)
def test_kind_input_counts_are_a_valid_range(name: str) -> None:
    kind = _kind(name)
    assert 0 <= kind.min_inputs <= kind.max_inputs


@pytest.mark.parametrize("name", KINDS)
def test_kind_has_a_summary_and_a_run_function(name: str) -> None:
    # Every kind registered today can run; a kind registered without `run` would be answered
    # KIND_NOT_AVAILABLE at submit, and should then be listed here with the reason.
    kind = _kind(name)
    assert kind.summary.strip()
    assert kind.run is not None and callable(kind.run)
    assert kind.available


@pytest.mark.parametrize("name", KINDS)
def test_params_schema_rejects_an_unknown_field_by_name(name: str) -> None:
    kind = _kind(name)
    params = {**MINIMAL_PARAMS.get(name, {}), UNKNOWN_FIELD: 1}
    with pytest.raises(AppError) as caught:
        operations.validate_params(kind, params)
    assert caught.value.code == "VALIDATION_FAILED"
    fields = [d.field for d in caught.value.details]
    assert f"params.{UNKNOWN_FIELD}" in fields, fields


@pytest.mark.parametrize("name", KINDS)
def test_minimal_params_are_accepted_and_estimated(name: str) -> None:
    kind = _kind(name)
    params = operations.prepared_params(kind, MINIMAL_PARAMS.get(name, {}), seed=0)
    est = kind.estimate(params)
    assert isinstance(est, Estimate)
    assert est.rows >= 0
    assert est.seconds >= 0
    assert est.extra_micro >= 0
    assert est.micro == est.rows + est.extra_micro
    assert est.tier in KNOWN_TIERS, (name, est.tier)


@pytest.mark.parametrize("name", KINDS)
def test_public_estimate_matches_the_kind(name: str) -> None:
    """`operations.estimate` (what the API's estimate route answers) reports the kind's own queue."""
    answer = operations.estimate(name, MINIMAL_PARAMS.get(name, {}))
    assert answer["kind"] == name
    assert answer["queue"] == REGISTRY[name].queue
    assert answer["estimated_credits"] >= 0
    assert answer["estimated_rows"] >= 0
    assert answer["training_tier"] in KNOWN_TIERS


def test_kinds_listing_covers_the_registry() -> None:
    listed = {entry["kind"]: entry for entry in operations.kinds()}
    assert set(listed) == set(REGISTRY)
    for name, entry in listed.items():
        assert entry["queue"] == REGISTRY[name].queue
        assert entry["available"] is REGISTRY[name].available
