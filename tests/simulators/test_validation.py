"""Bad requests fail with SimulationParamError naming the field, before anything runs."""

from __future__ import annotations

from typing import Any

import pytest

from simulators import SimulationParamError, prepare_scenario_fabricate, prepare_simulate

OK: dict[str, Any] = {"plant": "water", "duration": 600}
ATTACK: dict[str, Any] = {"technique": "T0831", "start": 10, "duration": 5, "targets": ["P101.SPEED"], "magnitude": 0}

SIMULATE_CASES = [
    ({"duration": 600}, "plant"),
    ({**OK, "plant": "nuclear"}, "plant"),
    ({**OK, "plant": 3}, "plant"),
    ({"plant": "water"}, "duration"),
    ({**OK, "duration": -5}, "duration"),
    ({**OK, "duration": 0}, "duration"),
    ({**OK, "duration": "long"}, "duration"),
    ({**OK, "duration": float("nan")}, "duration"),
    ({**OK, "duration": 400 * 86400}, "duration"),
    ({**OK, "duration": 86400 * 300, "sample_rate": 100, "instances": 100}, "duration"),
    ({**OK, "sample_rate": 0}, "sample_rate"),
    ({**OK, "sample_rate": 1000}, "sample_rate"),
    ({**OK, "sample_rate": 3}, "sample_rate"),
    ({**OK, "scan_period": 0.001}, "scan_period"),
    ({**OK, "scan_period": 0.3}, "scan_period"),
    ({**OK, "seed": -1}, "seed"),
    ({**OK, "seed": 1.5}, "seed"),
    ({**OK, "seed": True}, "seed"),
    ({**OK, "instances": 0}, "instances"),
    ({**OK, "start_time": "yesterday"}, "start_time"),
    ({**OK, "format": "xlsx"}, "format"),
    ({**OK, "include_truth": "yes"}, "include_truth"),
    ({**OK, "sensors": {"noise": -1}}, "sensors.noise"),
    ({**OK, "colour": "red"}, "colour"),
    ({**OK, "mix": []}, "mix"),
    ({**OK, "params": {"tank9_area": 3}}, "params.tank9_area"),
    ({**OK, "params": {"tank1_area": -3}}, "params.tank1_area"),
    ({**OK, "params": {"tank1_area": "big"}}, "params.tank1_area"),
    ({**OK, "params": {"interlock_enabled": 2}}, "params.interlock_enabled"),
    ({**OK, "params": [1]}, "params"),
    ({**OK, "attacks": {"technique": "T0831"}}, "attacks"),
    ({**OK, "attacks": [{**ATTACK, "technique": "T0000"}]}, "attacks[0].technique"),
    ({**OK, "attacks": [ATTACK, {**ATTACK, "start": -1}]}, "attacks[1].start"),
    ({**OK, "attacks": [{**ATTACK, "start": 600}]}, "attacks[0].start"),
    ({**OK, "attacks": [{**ATTACK, "duration": 0}]}, "attacks[0].duration"),
    ({**OK, "attacks": [{**ATTACK, "targets": []}]}, "attacks[0].targets"),
    ({**OK, "attacks": [{**ATTACK, "targets": ["P101.SPEED", "NOPE"]}]}, "attacks[0].targets[1]"),
    ({**OK, "attacks": [{**ATTACK, "targets": ["LIT101"]}]}, "attacks[0].targets[0]"),
    ({**OK, "attacks": [{**ATTACK, "magnitude": None}]}, "attacks[0].magnitude"),
    ({**OK, "attacks": [{**ATTACK, "magnitude": 150}]}, "attacks[0].magnitude"),
    ({**OK, "attacks": [{**ATTACK, "magnitude": [1, 2]}]}, "attacks[0].magnitude"),
    ({**OK, "attacks": [{**ATTACK, "targets": ["P101"], "magnitude": 0.5}]}, "attacks[0].magnitude"),
    ({**OK, "attacks": [{**ATTACK, "technique": "freeze", "targets": ["P101.RUN"]}]}, "attacks[0].targets[0]"),
    ({**OK, "attacks": [{**ATTACK, "technique": "T0855", "targets": ["P101"]}]}, "attacks[0].targets[0]"),
    ({**OK, "attacks": [{**ATTACK, "options": {"period": 3}}]}, "attacks[0].options.period"),
    ({**OK, "attacks": [{**ATTACK, "technique": "pulse", "targets": ["LIT101"], "magnitude": 1,
                         "options": {"duty": 1.5}}]}, "attacks[0].options.duty"),
    ({**OK, "attacks": [ATTACK, {**ATTACK, "id": "A001"}]}, "attacks[1].id"),
    ({**OK, "attacks": [{**ATTACK, "when": 3}]}, "attacks[0].when"),
]


@pytest.mark.parametrize(("params", "field"), SIMULATE_CASES)
def test_simulate_rejects(params: dict[str, Any], field: str) -> None:
    with pytest.raises(SimulationParamError) as err:
        prepare_simulate(params)
    assert err.value.field == field
    assert err.value.message and str(err.value).startswith(field)
    assert err.value.to_dict() == {"field": field, "message": err.value.message}


FABRICATE_CASES = [
    ({**OK}, "mix"),
    ({**OK, "mix": "T0831"}, "mix"),
    ({**OK, "mix": [{"technique": "T0000"}]}, "mix[0].technique"),
    ({**OK, "mix": [{"technique": "T0831", "count": -1}]}, "mix[0].count"),
    ({**OK, "mix": [{"technique": "T0831", "count": 0}]}, "mix"),
    ({**OK, "mix": [{"technique": "T0831", "intensity": 2}]}, "mix[0].intensity"),
    ({**OK, "mix": [{"technique": "T0831", "targets": ["LIT101"]}]}, "mix[0].targets[0]"),
    ({**OK, "mix": [{"technique": "T0831", "count": 50}]}, "mix"),
    ({**OK, "mix": ["T0831"], "intensity": -0.1}, "intensity"),
    ({**OK, "mix": ["T0831"], "attacks": []}, "attacks"),
]


@pytest.mark.parametrize(("params", "field"), FABRICATE_CASES)
def test_scenario_fabricate_rejects(params: dict[str, Any], field: str) -> None:
    with pytest.raises(SimulationParamError) as err:
        prepare_scenario_fabricate(params)
    assert err.value.field == field


def test_valid_requests_normalise() -> None:
    req = prepare_simulate({"plant": "CSTR", "duration": 60.5, "start_time": "2025-06-01T12:00:00+02:00",
                            "params": {"interlock_enabled": False}, "sensors": {"noise": 0}})
    assert req.plant == "chemical" and req.rows_per_instance == 61
    assert req.start_time == "2025-06-01T10:00:00.000Z"
    assert req.params["interlock_enabled"] == 0.0 and req.sensors.noise == 0.0
    fab = prepare_scenario_fabricate({"plant": "power", "duration": 7200, "mix": {"T0855": 1, "ramp": 1}})
    assert len(fab.scenarios) == 2
