"""The ics_benchmark evaluation's wall time per plant (goal: one simulated day per plant <= 2 min on
2 cores), side by side with a peer: the same three detectors run as plain scikit-learn / NumPy calls
on the same standardised arrays, without the project's pipeline (thresholds, smoothing, per-technique
scoring, eTaPR). Prints the phases, the ratio ours / peer for the detection phase, and the baseline
scores docs/simulators.md quotes.

Usage: python bench/ics_benchmark.py [--quick] [--plants water,chemical,power] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Any

import numpy as np

from simulators.dataset import generate
from simulators.detection import benchmark as bm


def ours(plant: str, duration: float, seed: int) -> tuple[dict[str, Any], dict[str, float]]:
    marks: list[tuple[str, float]] = []
    started = time.perf_counter()
    result = bm.run(bm.prepare({"plant": plant, "duration": duration, "seed": seed}),
                    progress=lambda _f, msg: marks.append((msg, time.perf_counter())))
    total = time.perf_counter() - started
    at = dict(marks)
    simulate = at["detector ar_residual"] - started
    return result, {"total_s": total, "simulate_s": simulate, "detect_s": total - simulate}


def peer(plant: str, duration: float, seed: int) -> float:
    """Plain library calls on the same arrays: AR(3) least squares per tag, PCA, IsolationForest."""
    from sklearn.decomposition import PCA
    from sklearn.ensemble import IsolationForest

    normal_req, attack_req = bm._runs(bm.prepare({"plant": plant, "duration": duration, "seed": seed}))
    train_cols, test_cols = bm._columns(generate(normal_req).table), bm._columns(generate(attack_req).table)
    bm._counters_as_rates(train_cols, test_cols)
    names = [n for n, v in train_cols.items() if np.ptp(v) > 0]
    train = np.column_stack([train_cols[n] for n in names])
    test = np.column_stack([test_cols[n] for n in names])
    mean, std = train.mean(0), np.maximum(train.std(0), 1e-6)
    train, test = (train - mean) / std, (test - mean) / std
    started = time.perf_counter()
    for x in (train, test):
        for j in range(x.shape[1]):
            design = np.column_stack([x[2:-1, j], x[1:-2, j], x[:-3, j], np.ones(len(x) - 3)])
            np.linalg.lstsq(design, x[3:, j], rcond=None)
    pca = PCA(n_components=0.99, svd_solver="full").fit(train)
    pca.inverse_transform(pca.transform(test))
    rows = train[np.random.default_rng(seed).choice(len(train), min(20000, len(train)), replace=False)]
    IsolationForest(n_estimators=100, max_samples=256, random_state=seed, n_jobs=1).fit(rows).score_samples(test)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="6 h instead of one day")
    ap.add_argument("--plants", default="water,chemical,power")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args()
    duration = 21600.0 if args.quick else 86400.0
    out: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                           "duration_s": duration, "plants": {}}
    print(f"ics_benchmark, {duration / 3600:g} h per plant at 1 Hz, seed {args.seed}")
    print(f"{'plant':9s} {'total s':>8s} {'simulate':>9s} {'detect':>7s} {'peer':>6s} {'ratio':>6s}")
    for plant in args.plants.split(","):
        result, times = ours(plant, duration, args.seed)
        peer_s = peer(plant, duration, args.seed)
        ratio = times["detect_s"] / peer_s
        print(f"{plant:9s} {times['total_s']:8.1f} {times['simulate_s']:9.1f} {times['detect_s']:7.1f} "
              f"{peer_s:6.1f} {ratio:6.2f}")
        scores = {d["detector"]: {**d["overall"], "normal_alarm_rate": d["normal_alarm_rate"],
                                  "by_technique": {k: v["etapr_f1"] for k, v in d["by_technique"].items()}}
                  for d in result["detectors"]}
        out["plants"][plant] = {**times, "peer_detect_s": peer_s, "ratio": ratio, "scores": scores,
                                "attacks": len(result["attacks"])}
        for name, s in scores.items():
            print(f"    {name:17s} F1 {s['f1']:.3f}  PA-F1 {s['pa_f1']:.3f}  eTaPR-F1 {s['etapr_f1']:.3f}  "
                  f"detected {s['detected_attacks']}/{s['attacks']}  normal alarms {s['normal_alarm_rate']:.4f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2, sort_keys=True)


if __name__ == "__main__":
    main()
