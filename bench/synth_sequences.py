"""Benchmark: sequential synthesis (``par``) on a water-plant scenario, beside row-independent
GaussianCopula (the peer: what synthesis gave before sequences).

Simulates ``--duration`` seconds of the water plant at 1 Hz (default one hour), trains both through
the service layer (``training.train``, no holdout), samples as many rows as the scenario has, and
prints the report's sequence checks for each: the largest lag-1 autocorrelation gap over the level
tags (acceptance: <= 0.1) and the discriminator AUC on 60-row windows (acceptance: <= 0.75), plus
PAR's preparation and per-epoch seconds.

    .venv/bin/python bench/synth_sequences.py [--duration 3600] [--epochs N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from appliance.services.synth import offline, training
from appliance.services.synth.frames import to_frame
from appliance.services.synth.sequence_metrics import sequence_report
from simulators import simulate

LEVELS = ("LIT101", "LIT102")


def run(frame: Any, synthesizer: str, epochs: int | None, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    config = training.TrainingConfig(
        synthesizer=synthesizer, dataset_id="bench", dataset_blake3="", max_rows=len(frame), holdout=0.0,
        seed=seed, epochs=epochs, sequence={"sequence_index": "timestamp"} if synthesizer == "par" else None,
        check=False,
    )
    trained = training.train(frame, config)
    fitted = time.perf_counter()
    rows = trained.metadata.enforce(trained.model.sample(len(frame), seed))
    sampled = time.perf_counter()
    report = sequence_report(trained.train, rows, {"sequence_index": "timestamp"}, seed)
    auto = report["autocorrelation"]["columns"]
    gaps = {c: auto[c] for c in LEVELS if c in auto}
    return {
        "synthesizer": synthesizer,
        "fit_s": round(fitted - started, 1),
        "sample_s": round(sampled - fitted, 1),
        "timing": getattr(trained.model, "timing", None),
        "level_lag1": gaps,
        "max_level_gap": max((g["gap"] for g in gaps.values() if g["gap"] is not None), default=None),
        "max_gap_all_numeric": report["autocorrelation"]["max_gap"],
        "pair_corr_mean_gap": report["cross_correlation"]["mean_gap"],
        "discriminator_auc": report["discriminator"]["auc"],
        "windows": report["discriminator"]["windows"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=3600)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    offline.prepare(Path(tempfile.mkdtemp(prefix="sf-bench-seq-")))
    scenario = {"plant": "water", "duration": args.duration, "sample_rate": 1, "seed": 3}
    frame = to_frame(simulate(scenario).table)
    print(f"water scenario: {len(frame)} rows x {len(frame.columns)} columns", flush=True)
    for synthesizer in ("gaussian_copula", "par"):
        print(json.dumps(run(frame, synthesizer, args.epochs if synthesizer == "par" else None, args.seed)), flush=True)


if __name__ == "__main__":
    main()
