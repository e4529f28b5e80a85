"""The report a user reads: each score beside the real holdout's score on the same metric and the
same number of rows, a verdict in words, and warnings when the table is too small to tell."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from appliance.services.synth import metadata
from appliance.services.synth.report import build_report
from tests.synth_data import adult_frame


def _report(synthetic: pd.DataFrame, rows: int = 1000, holdout_share: float = 0.2) -> dict:
    frame, meta = metadata.detect(adult_frame(rows, seed=1))
    cut = int(rows * (1 - holdout_share))
    train, holdout = frame.iloc[:cut].reset_index(drop=True), frame.iloc[cut:].reset_index(drop=True)
    return build_report(synthetic, train, holdout, meta, seed=4, about={})


def _broken(rows: int) -> pd.DataFrame:
    """Right columns, wrong table: every column shuffled on its own and ages pushed up."""
    rng = np.random.default_rng(5)
    frame = adult_frame(rows, seed=9)
    out = pd.DataFrame({c: rng.permutation(frame[c].to_numpy()) for c in frame.columns})
    out["age"] = np.minimum(out["age"] + 25, 95)
    return out


def test_fresh_real_rows_read_good_and_a_broken_table_reads_poor(sdv_home: Path) -> None:
    good = _report(adult_frame(3000, seed=2))
    fidelity = good["summary"][0]
    assert fidelity["check"] == "fidelity" and fidelity["verdict"] == "good", fidelity
    assert fidelity["reference"] == good["quality_reference"]["score"]
    assert fidelity["score_at_holdout_size"] == good["quality_at_holdout_size"]["score"]
    assert "200 rows" in fidelity["text"] and "real holdout" in fidelity["text"]
    poor = _report(_broken(3000))["summary"][0]
    assert poor["verdict"] == "poor" and "quality.columns" in poor["text"], poor
    assert [entry["check"] for entry in good["summary"]] == ["fidelity", "privacy", "rules"]
    assert good["summary"][1]["verdict"] == "low" and "holdout" in good["summary"][1]["text"]


def test_a_small_holdout_is_flagged_and_the_size_effect_shown(sdv_home: Path) -> None:
    report = _report(adult_frame(5000, seed=2), rows=250)
    fidelity = report["summary"][0]
    warnings = " ".join(fidelity["warnings"])
    assert "only 50 holdout rows" in warnings
    assert fidelity["score"] > fidelity["score_at_holdout_size"]
    assert "sample size" in warnings, "5,000 rows against 50 inflate the full-size score"


def test_without_a_holdout_there_is_no_reference_and_it_says_so(sdv_home: Path) -> None:
    frame, meta = metadata.detect(adult_frame(200, seed=1))
    report = build_report(adult_frame(300, seed=2), frame, None, meta, seed=4, about={})
    fidelity, privacy, rules = report["summary"]
    assert fidelity["verdict"] == "unknown" and "no real holdout" in fidelity["text"]
    assert privacy["verdict"] == "unknown" and rules["verdict"] == "unknown"
    gone = build_report(adult_frame(30, seed=2), None, None, meta, seed=4, about={})
    assert gone["summary"][0]["verdict"] == "unknown" and gone["summary"][1]["verdict"] == "unknown"
