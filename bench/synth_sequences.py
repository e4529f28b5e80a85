"""Benchmark: sequential synthesis on a water-plant scenario: ``regime_var`` beside its peers, SDV's
``par`` and row-independent GaussianCopula (what synthesis gave before sequences).

Simulates ``--duration`` seconds of the water plant at 1 Hz (default one day) with two labelled
attacks, trains each model through the service layer (``training.train``, no holdout), samples as
many rows as the scenario has, and prints per model what issue #20's acceptance asks for:

- timestamps: strictly increasing at the real step (same resolution);
- label rules (those on ``attack``/``attack_id``/``technique``/``attack_type``): violations in the
  raw sample, before the rules step repairs it, and after;
- lag-1 autocorrelation of each level tag, real and synthetic, and the largest gap (goal <= 0.1);
- the report's discriminator AUC on 60-row windows (goal <= 0.75), overall and per column group
  (``GROUPS``), and pair-correlation gap, and the same discriminator on real against real (the
  scenario simulated with another seed): what a second day of the same plant scores;
- fit and sample seconds, and the load average while it ran (a timing, not asserted anywhere).

PAR trains ~10 s a step at an hour of this table on two cores, so the peers run on
``--peer-duration`` seconds (default one hour) and ``regime_var`` runs on both lengths.

    .venv/bin/python bench/synth_sequences.py [--duration 86400] [--peer-duration 3600]
        [--models regime_var,gaussian_copula,par] [--epochs N]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from appliance.services.synth import offline, rules, training
from appliance.services.synth.frames import to_frame
from appliance.services.synth.sequence_metrics import discriminator, numeric_columns, sequence_report
from simulators import simulate

LEVELS = ("LIT101", "LIT102")
LABELS = ("attack", "attack_id", "technique", "attack_type")
SEQUENCE = {"sequence_index": "timestamp"}


def scenario(duration: int) -> dict[str, Any]:
    """The water plant at 1 Hz with two 10-minute attacks (spoofed level, then a forced pump)."""
    return {
        "plant": "water", "duration": duration, "sample_rate": 1, "seed": 3,
        "attacks": [
            {"technique": "T0856", "start": int(duration * 0.3), "duration": 600, "targets": ["LIT101"],
             "magnitude": 0.3},
            {"technique": "T0831", "start": int(duration * 0.7), "duration": 600, "targets": ["P101.SPEED"],
             "magnitude": 40.0},
        ],
    }


def _rule_columns(rule: dict[str, Any]) -> set[str]:
    """The columns a rule constrains (a label rule constrains a label, whatever its condition)."""
    return {*rule.get("columns", []), rule.get("column", ""), rule.get("low", ""), rule.get("high", "")}


def privacy(rows: Any, train: Any, other: Any, seed: int) -> dict[str, Any]:
    """The report's DCR with the second simulated day (seed 4) as the holdout: are synthetic rows
    nearer the training day than a day the model never saw? (a model that copied the day would be)"""
    from appliance.services.synth.privacy import privacy_report

    found = privacy_report(rows, train, other[[c for c in train.columns if c in other.columns]], seed)
    dcr = found["dcr"]
    return {"dcr_median_synthetic": dcr["synthetic_to_train"]["median"],
            "dcr_median_other_day": (dcr["holdout_to_train"] or {}).get("median"), "ratio": dcr["ratio"],
            "closer_to_train_share": found["closer_to_train_share"], "exact_copy_rate": found["exact_copy_rate"],
            "risk": found["risk"]}


def run(frame: Any, synthesizer: str, epochs: int | None, seed: int, other: Any = None) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    sequential = synthesizer in ("par", "regime_var")
    config = training.TrainingConfig(
        synthesizer=synthesizer, dataset_id="bench", dataset_blake3="", max_rows=len(frame), holdout=0.0,
        seed=seed, epochs=epochs if synthesizer == "par" else None, sequence=SEQUENCE if sequential else None,
        check=False,
    )
    trained = training.train(frame, config)
    fitted = time.perf_counter()
    raw = trained.model.sample(len(frame), seed)
    sampled = time.perf_counter()
    rows = trained.metadata.enforce(raw)
    label_rules = [r for r in trained.metadata.rules if _rule_columns(r) & set(LABELS)]
    report = sequence_report(trained.train, rows, SEQUENCE, seed)
    stamps = rows["timestamp"].to_numpy().astype("int64")
    real_step = int(np.median(np.diff(trained.train["timestamp"].to_numpy().astype("int64"))))
    auto = report["autocorrelation"]["columns"]
    levels = {c: auto[c] for c in LEVELS if c in auto}
    return {
        "synthesizer": synthesizer,
        "rows": len(frame),
        "fit_s": round(fitted - started, 1),
        "sample_s": round(sampled - fitted, 1),
        "timing": getattr(trained.model, "timing", None),
        "timestamps_increasing": bool(np.all(np.diff(stamps) > 0)),
        "timestamps_at_real_step": bool(np.all(np.diff(stamps) == real_step)),
        "label_rules": len(label_rules),
        "label_violations_raw": int(sum(rules.violations(raw, r).sum() for r in label_rules)),
        "label_violations_after_repair": int(sum(rules.violations(rows, r).sum() for r in label_rules)),
        "attack_rows": {"real": int(trained.train["attack"].sum()), "synthetic": int(rows["attack"].sum())},
        "level_lag1": levels,
        "max_level_gap": max((g["gap"] for g in levels.values() if g["gap"] is not None), default=None),
        "max_gap_all_numeric": report["autocorrelation"]["max_gap"],
        "within_0_1": f"{report['autocorrelation']['within_0_1']}/{report['autocorrelation']['compared']}",
        "pair_corr_mean_gap": report["cross_correlation"]["mean_gap"],
        "discriminator_auc": report["discriminator"]["auc"],
        "auc_by_group": by_group(trained.train, rows, [c for c in numeric_columns(trained.train, ["timestamp"])
                                                       if c in rows.columns], seed),
        "windows": report["discriminator"]["windows"],
        "privacy_vs_other_day": None if other is None else privacy(rows, trained.train, other, seed),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


GROUPS = {
    "levels/flows/pressure": ("LIT101", "LIT102", "FIT101", "FIT102", "FIT201", "PIT201"),
    "totalisers": ("FQ101", "FQ201", "FQ901"),
    "setpoints": ("LIC101.SP", "LIC102.SP", "AIC201.SP"),
    "valve/dosing/speed": ("FCV102.POS", "DP201.SPEED", "P101.SPEED"),
    "analyser": ("AIT201",),
    "pumps/duty/labels/alarms": ("P101", "P102", "P201", "P101.DUTY", "attack", "LIT101.LO", "LIT101.HI",
                                 "LIT102.HI", "LIT102.LO"),
}


def by_group(real: Any, other: Any, columns: list[str], seed: int) -> dict[str, Any]:
    """The same discriminator on each group of columns alone: which part of the plant gives a
    window away (the overall AUC is about the easiest group)."""
    out = {}
    for name, members in GROUPS.items():
        picked = [c for c in members if c in columns]
        if picked:
            out[name] = discriminator(real, other, picked, None, seed)["auc"]
    return out


def reference(frame: Any, other: Any, seed: int) -> dict[str, Any]:
    """The discriminator on real against real: the same scenario simulated with another seed (a
    second day of the same plant; the model never sees it)."""
    columns = [c for c in numeric_columns(frame, ["timestamp"]) if c in numeric_columns(other, ["timestamp"])]
    found = discriminator(frame, other, columns, None, seed)
    return {"reference": "the same scenario simulated with seed 4", "rows": len(frame),
            "discriminator_auc": found["auc"], "windows": found["windows"],
            "auc_by_group": by_group(frame, other, columns, seed)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=86_400)
    parser.add_argument("--peer-duration", type=int, default=3_600)
    parser.add_argument("--models", default="regime_var,gaussian_copula,par")
    parser.add_argument("--epochs", type=int, default=None, help="par's optimiser steps (default: scaled)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    offline.prepare(Path(tempfile.mkdtemp(prefix="sf-bench-seq-")))
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    durations = sorted({args.duration, args.peer_duration}, reverse=True)
    for duration in durations:
        frame = to_frame(simulate(scenario(duration)).table)
        print(f"water scenario: {duration} s, {len(frame)} rows x {len(frame.columns)} columns", flush=True)
        other = to_frame(simulate({**scenario(duration), "seed": 4}).table)
        print(json.dumps(reference(frame, other, args.seed)), flush=True)
        for synthesizer in models:
            if synthesizer != "regime_var" and duration != args.peer_duration:
                continue
            print(json.dumps(run(frame, synthesizer, args.epochs, args.seed, other)), flush=True)


if __name__ == "__main__":
    main()
