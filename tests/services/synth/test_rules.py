"""Rules between columns: detected in real rows, declared by the caller, repaired in sampled rows,
and counted ("rules held: n/n")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from appliance.services.synth import engines, metadata, rules
from appliance.services.synth.interface import SynthesisError


def plant_frame(rows: int = 300, seed: int = 1) -> pd.DataFrame:
    """A pump's mode, its flow (null when the pump is off), a start/end pair, and labels whose
    attack id fixes the technique."""
    rng = np.random.default_rng(seed)
    mode = rng.choice(["off", "low", "high"], rows, p=[0.3, 0.4, 0.3])
    flow = np.where(mode == "off", np.nan, np.where(mode == "low", 40, 90) + rng.normal(0, 8, rows))
    start = rng.uniform(0, 100, rows)
    attack = (rng.uniform(size=rows) < 0.25).astype(int)
    attack_id = np.where(attack == 1, rng.choice(["A001", "A002"], rows), None)
    technique = np.where(attack_id == "A001", "T0831", np.where(attack_id == "A002", "T0856", None))
    return pd.DataFrame(
        {
            "mode": mode,
            "flow": flow,
            "start": start,
            "end": start + rng.gamma(2.0, 10.0, rows),
            "attack": attack,
            "attack_id": attack_id,
            "technique": technique,
        }
    )


def by_type(found: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in found if r["type"] == kind]


def test_detects_conditional_nulls_combinations_inequalities_and_ranges(sdv_home: Path) -> None:
    frame, meta = metadata.detect(plant_frame())
    assert meta.sdtypes()["attack_id"] == "categorical", "a repeated label is not an id"
    found = rules.detect(frame, meta.sdtypes())
    assert {"type": "null_when", "column": "flow", "when": {"mode": "off"}, "otherwise": "low"} in found
    assert any(r["column"] == "flow" and r["when"] == {"mode": "low"} for r in by_type(found, "not_null_when"))
    combos = by_type(found, "fixed_combinations")
    assert [sorted(r["columns"]) for r in combos] == [["attack", "attack_id", "technique"]]
    assert sorted(map(str, combos[0]["combinations"])) == sorted(
        map(str, [[0, None, None], [1, "A001", "T0831"], [1, "A002", "T0856"]])
    )
    assert {"type": "inequality", "low": "start", "high": "end"} in found
    assert {r["column"] for r in by_type(found, "range")} >= {"flow", "start", "end"}
    assert rules.check(frame, found)["summary"] == f"rules held: {len(found)}/{len(found)}"


def test_sampled_rows_are_repaired_to_hold_every_rule_even_under_conditions(sdv_home: Path) -> None:
    frame, meta = metadata.detect(plant_frame())
    meta.rules = rules.detect(frame, meta.sdtypes())
    model = engines.create("gaussian_copula", "cpu")
    model.fit(frame, meta)
    raw = model.sample(500, seed=2)
    before = rules.check(raw, meta.rules)
    assert before["held"] < before["total"], "independent sampling breaks some rules (else this tests nothing)"
    fixed = meta.enforce(raw)
    after = rules.check(fixed, meta.rules)
    assert after["held"] == after["total"] and len(fixed) == 500
    assert fixed.loc[fixed["mode"] == "off", "flow"].isna().all()
    assert (fixed.loc[fixed["attack"] == 0, "attack_id"].isna()).all()
    pd.testing.assert_frame_equal(fixed, meta.enforce(model.sample(500, seed=2)))
    conditioned = meta.enforce(model.sample(200, seed=3, conditions={"attack": 1}), {"attack": 1})
    assert (conditioned["attack"] == 1).all() and conditioned["attack_id"].notna().all()
    assert rules.check(conditioned, meta.rules)["held"] == after["total"]


def test_declared_rules_are_checked_and_kept_beside_detected_ones(sdv_home: Path) -> None:
    frame, _ = metadata.detect(plant_frame())
    given = rules.declared(
        [
            {"type": "range", "column": "start", "min": 0, "max": 50},
            {"type": "fixed_combinations", "columns": ["mode", "attack"]},
        ],
        frame,
    )
    assert len(given[1]["combinations"]) == 6
    combined = rules.combine([{"type": "range", "column": "start", "min": 0, "max": 50}], given)
    assert combined == given
    report = rules.check(frame, given)
    assert report["held"] == 1 and report["rules"][0]["violations"] == int((frame["start"] > 50).sum())
    assert report["rules"][0]["rule"] == "start within [0, 50]"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"type": "range"}, "rules"),
        ([{"type": "nope"}], "rules.0"),
        ([{"type": "null_when", "column": "flow"}], "rules.0.when"),
        ([{"type": "null_when", "column": "ghost", "when": {"mode": "off"}}], "rules.0"),
        ([{"type": "range", "column": "start"}], "rules.0.min"),
        ([{"type": "value_when", "column": "flow", "when": {"mode": "off"}}], "rules.0.value"),
        ([{"type": "fixed_combinations", "columns": ["mode"]}], "rules.0.columns"),
        ([{"type": "inequality", "low": "start", "high": 3}], "rules.0"),
    ],
)
def test_bad_rules_name_the_field(raw: Any, field: str) -> None:
    with pytest.raises(SynthesisError) as caught:
        rules.declared(raw, plant_frame(20))
    assert caught.value.field == field, caught.value


def test_a_fixed_class_is_kept_and_the_condition_repaired_instead(sdv_home: Path) -> None:
    """A pump that never runs during an attack: a sampled attack row with the pump on keeps its
    class (a per-class model's rows never change class) and its labels; the pump is switched off."""
    rng = np.random.default_rng(3)
    attack = np.r_[np.zeros(150, int), np.ones(50, int)]
    frame = pd.DataFrame({
        "pump": np.where(attack == 1, 0, rng.integers(0, 2, 200)),
        "level": rng.normal(size=200),
        "attack": attack,
        "attack_id": np.where(attack == 1, "A001", None),
    })
    found = rules.detect(frame, metadata.detect(frame)[1].sdtypes())
    assert any(r["type"] == "value_when" and r["column"] == "attack" and r["when"] == {"pump": 1} for r in found)
    sampled = pd.DataFrame({"pump": [1, 1], "level": [0.1, 0.2], "attack": [1, 0], "attack_id": [None, None]})
    fixed = rules.repair(sampled, found, {"attack": None})
    assert fixed["attack"].tolist() == [1, 0] and fixed["attack_id"].tolist()[0] == "A001"
    assert fixed["pump"].tolist() == [0, 1]
    assert rules.check(fixed, found)["held"] == len(found)
