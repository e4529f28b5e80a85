"""The ics_benchmark pipeline: request validation, a small end-to-end run, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simulators.detection.benchmark import prepare, run
from simulators.detection.detectors import DETECTORS, fit_and_threshold
from simulators.errors import SimulationParamError


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "plant"),
        ({"plant": "water", "duration": 60}, "duration"),
        ({"plant": "water", "detectors": ["lstm"]}, "detectors"),
        ({"plant": "water", "techniques": []}, "techniques"),
        ({"plant": "water", "count": 0}, "count"),
        ({"plant": "water", "sample_rate": 3}, "sample_rate"),
        ({"plant": "water", "bogus": 1}, "bogus"),
        ({"plant": "nuclear"}, "plant"),
        ({"plant": "water", "params": {"no_such_param": 1}}, "params.no_such_param"),
        ({"plant": "water", "stealthy": "yes"}, "stealthy"),
    ],
)
def test_bad_requests_name_the_field(raw: dict, field: str) -> None:
    with pytest.raises(SimulationParamError) as info:
        prepare(raw)
    assert info.value.field == field


def test_defaults_are_filled_in() -> None:
    req = prepare({"plant": "chemical"})
    assert req.duration == req.train_duration == 86400.0
    assert set(req.detectors) == set(DETECTORS)
    assert req.contract()["plant"] == "chemical"
    assert req.params == {}  # every plant has its own operator (operator_reset)
    assert prepare({"plant": "chemical", "params": {"operator_reset": 0}}).params == {"operator_reset": 0}
    assert prepare({"plant": "power"}).params == {}
    assert prepare({"plant": "water"}).params == {}


def test_small_run_scores_every_detector_and_technique_and_repeats_exactly() -> None:
    raw = {"plant": "water", "duration": 7200, "train_duration": 3600, "seed": 3,
           "techniques": ["spoof_reporting_message", "sensor_freeze"]}
    first = run(prepare(raw))
    assert [d["detector"] for d in first["detectors"]] == list(DETECTORS)
    assert first["techniques"] == ["sensor_freeze", "spoof_reporting_message"]
    assert first["rows"] == {"train": 3600, "test": 7200, "attack": first["rows"]["attack"]}
    assert first["rows"]["attack"] > 0
    assert all(a["effect_reached"] in (True, False) for a in first["attacks"])
    for entry in first["detectors"]:
        for scores in [entry["overall"], *entry["by_technique"].values()]:
            for key in ("f1", "pa_f1", "etapr_f1"):
                assert 0.0 <= scores[key] <= 1.0
            assert scores["pa_f1"] >= scores["f1"] or scores["f1"] == 0.0
        assert set(entry["by_technique"]) == set(first["techniques"])
    assert json.dumps(run(prepare(raw)), sort_keys=True) == json.dumps(first, sort_keys=True)


def test_a_detector_flags_a_step_it_never_saw() -> None:
    """Normal rows: two correlated noisy tags. A step of 20 sigma in one of them must be flagged by
    every detector while the normal rows stay (almost) quiet."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(6000, 1))
    normal = np.hstack([base, base + 0.1 * rng.normal(size=(6000, 1))])
    test = np.vstack([normal[:1000], normal[1000:1200] + np.array([20.0, 0.0])])
    for name in DETECTORS:
        detector, threshold = fit_and_threshold(name, normal, 0)
        alarms = detector.score(test) > threshold
        assert alarms[1010:1200].mean() > 0.9, name
        assert alarms[:1000].mean() < 0.01, name
