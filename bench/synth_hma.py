"""Benchmark: multi-table (HMA) sampling memory, the appliance's chunked writer beside raw SDV.

Fits HMA once on two related tables (``--parents`` plants' assets, about ``--per-parent`` child rows
each), saves it, then samples in fresh processes, one per measurement, so each reports its own peak
resident memory (``VmHWM``) and wall time:

- the appliance (``multi_sampling.write_chunks`` into Parquet files, as a synthesize job does) at
  each of ``--sizes`` child rows (default 1 M; add 10 M with ``--big``, which takes long on a small
  box);
- raw SDV (``HMASynthesizer.sample_scale``, every table whole in memory) at ``--raw`` child rows, a
  size it can do (its per-parent ``concat`` makes it quadratic in the rows).

It prints one JSON line per run and the ratios: appliance peak RSS at the raw size vs raw SDV's, and
appliance peak RSS at the largest size vs the smallest (flat memory: about 1).

    .venv/bin/python bench/synth_hma.py [--sizes 1000000] [--big] [--raw 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
from pathlib import Path
from appliance.services.synth import multi, offline
folder, mode, roots = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
offline.prepare(folder / "state")
meta = multi.MultiMetadata.from_json(json.loads((folder / "meta.json").read_text()))
model = multi.HMAModel.load(folder / "model.pkl")
started = time.perf_counter()
if mode == "chunked":
    from appliance.services.synth.multi_sampling import TableWriters, write_chunks
    out = folder / f"out-{roots}"
    out.mkdir()
    writers = TableWriters(out, "parquet")
    write_chunks(model, roots, 7, meta, writers)
    rows = writers.rows
else:
    sizes = model.model._table_sizes
    tables = model.model.sample_scale(scale=roots / sizes["plants"])
    rows = {name: len(frame) for name, frame in tables.items()}
seconds = time.perf_counter() - started
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
out = {"mode": mode, "roots": roots, "rows": rows, "seconds": round(seconds, 1), "peak_rss_mb": round(peak / 1024)}
print(json.dumps(out))
"""


def tables(parents: int, per_parent: int, seed: int) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    counts = rng.integers(max(1, per_parent // 2), per_parent * 3 // 2 + 1, parents)
    plants = pd.DataFrame({
        "plant_id": np.arange(1, parents + 1),
        "region": rng.choice(["north", "south", "east", "west"], parents),
        "staff": rng.integers(5, 80, parents),
    })
    readings = pd.DataFrame({
        "reading_id": np.arange(1, counts.sum() + 1),
        "plant_id": np.repeat(plants["plant_id"].to_numpy(), counts),
        "flow": rng.gamma(3.0, 12.0, counts.sum()).round(3),
        "pressure": rng.normal(4.2, 0.3, counts.sum()).round(3),
        "mode": rng.choice(["auto", "manual", "maint"], counts.sum(), p=[0.8, 0.15, 0.05]),
    })
    return {"plants": plants, "readings": readings}


def measure(folder: Path, mode: str, roots: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), mode, str(roots)],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parents", type=int, default=200)
    parser.add_argument("--per-parent", type=int, default=100, help="mean child rows per parent in training")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000_000], help="child rows, appliance")
    parser.add_argument("--big", action="store_true", help="also 10,000,000 child rows (long)")
    parser.add_argument("--raw", type=int, default=200_000, help="child rows for raw SDV sample_scale")
    args = parser.parse_args()

    from appliance.services.synth import multi, offline

    sizes = sorted(set(args.sizes + ([10_000_000] if args.big else [])))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        offline.prepare(folder / "state")
        frames = tables(args.parents, args.per_parent, seed=1)
        started = time.perf_counter()
        parsed, meta = multi.detect(frames, None)
        model = multi.HMAModel()
        model.fit(parsed, meta)
        print(json.dumps({"fit_s": round(time.perf_counter() - started, 1),
                          "train_rows": {n: len(f) for n, f in parsed.items()}}), flush=True)
        model.save(folder / "model.pkl")
        (folder / "meta.json").write_text(json.dumps(meta.to_json(), default=str))
        ratio = len(parsed["readings"]) / len(parsed["plants"])
        raw = measure(folder, "raw", max(1, round(args.raw / ratio)))
        same = measure(folder, "chunked", max(1, round(args.raw / ratio)))
        runs = [measure(folder, "chunked", max(1, round(size / ratio))) for size in sizes]
    print(json.dumps({
        "peak_rss_ratio_chunked_vs_raw_sdv_at_raw_size": round(same["peak_rss_mb"] / raw["peak_rss_mb"], 2),
        "seconds_ratio_chunked_vs_raw_sdv_at_raw_size": round(same["seconds"] / max(raw["seconds"], 0.1), 2),
        "peak_rss_ratio_largest_vs_smallest": round(runs[-1]["peak_rss_mb"] / runs[0]["peak_rss_mb"], 2),
        "peak_rss_mb": {r["rows"]["readings"]: r["peak_rss_mb"] for r in runs},
    }))


if __name__ == "__main__":
    main()
