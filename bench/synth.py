"""Benchmark: Sealforge's GaussianCopula (through its service layer) beside raw SDV, plus CTGAN.

On one adult-census-shaped table of 32,000 rows x 15 columns, generated here from a seed:

1. GaussianCopula fit and sample times: Sealforge's path (metadata detection with date parsing and
   validation, the engine's ``fit``, seeded ``sample``) beside SDV's own
   ``Metadata.detect_from_dataframes`` + ``GaussianCopulaSynthesizer.fit`` + ``sample``.
   Goal: Sealforge <= 1.2x raw SDV. Best of ``--repeat`` runs each, interleaved.
2. Quality: sdmetrics' QualityReport score of each one's rows against the real table, computed the
   same way for both. Goal: Sealforge >= raw SDV.
3. CTGAN seconds per epoch on the CPU (and on CUDA when this machine has it), from the engine's
   per-epoch events, so data preparation is not counted.

    .venv/bin/python bench/synth.py [--rows 32000] [--repeat 3] [--ctgan-epochs 3]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from appliance.services.synth import engines, metadata, offline  # noqa: E402
from appliance.services.synth.interface import EpochEvent  # noqa: E402

SEED = 20240601
WORKCLASS = ["Private", "Self-emp-not-inc", "Self-emp-inc", "Federal-gov", "Local-gov", "State-gov", "Without-pay"]
EDUCATION = [
    "HS-grad",
    "Some-college",
    "Bachelors",
    "Masters",
    "Assoc-voc",
    "11th",
    "Assoc-acdm",
    "10th",
    "7th-8th",
    "Prof-school",
    "9th",
    "12th",
    "Doctorate",
]
MARITAL = ["Married-civ-spouse", "Never-married", "Divorced", "Separated", "Widowed", "Married-spouse-absent"]
OCCUPATION = [
    "Prof-specialty",
    "Craft-repair",
    "Exec-managerial",
    "Adm-clerical",
    "Sales",
    "Other-service",
    "Machine-op-inspct",
    "Transport-moving",
    "Handlers-cleaners",
    "Farming-fishing",
    "Tech-support",
    "Protective-serv",
    "Priv-house-serv",
]
RELATIONSHIP = ["Husband", "Not-in-family", "Own-child", "Unmarried", "Wife", "Other-relative"]
RACE = ["White", "Black", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other"]
COUNTRY = ["United-States", "Mexico", "Philippines", "Germany", "Canada", "India", "Other"]


def adult(rows: int, seed: int = SEED) -> pd.DataFrame:
    """An adult-shaped table: 6 numeric and 9 categorical columns with the census' dependencies
    (education drives education_num, occupation and income; marital status drives relationship)."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.gamma(6.0, 6.5, rows) + 17, 17, 90).astype(int)
    edu_p = np.array([32, 22, 16, 5, 4, 4, 3, 3, 2, 2, 2, 1, 1], float)
    edu = rng.choice(len(EDUCATION), rows, p=edu_p / edu_p.sum())
    edu_num = np.array([9, 10, 13, 14, 11, 7, 12, 6, 4, 15, 5, 8, 16])[edu]
    married = rng.random(rows) < np.clip(0.15 + (age - 17) / 60, 0, 0.7)
    marital = np.where(married, 0, rng.choice(np.arange(1, len(MARITAL)), rows, p=[0.6, 0.25, 0.06, 0.05, 0.04]))
    sex = np.where(rng.random(rows) < 0.67, "Male", "Female")
    relationship = np.where(
        married, np.where(sex == "Male", 0, 4), rng.choice([1, 2, 3, 5], rows, p=[0.5, 0.3, 0.15, 0.05])
    )
    occ_shift = (edu_num >= 13).astype(int)
    occupation = np.where(occ_shift == 1, rng.choice([0, 2, 10, 4], rows), rng.choice(len(OCCUPATION), rows))
    hours = np.clip(rng.normal(38 + 3 * occ_shift + 2 * (sex == "Male"), 11, rows), 1, 99).round().astype(int)
    gain = np.where(rng.random(rows) < 0.08, rng.lognormal(8.5, 1.0, rows), 0).round().astype(int)
    loss = np.where(rng.random(rows) < 0.05, rng.normal(1900, 300, rows), 0).round().astype(int)
    score = 0.045 * (age - 38) + 0.35 * (edu_num - 10) + 1.3 * married + 0.03 * (hours - 40) + (gain > 5000) * 2.5
    income = np.where(score + rng.normal(0, 1.0, rows) > 1.6, ">50K", "<=50K")
    return pd.DataFrame(
        {
            "age": age,
            "workclass": rng.choice(WORKCLASS, rows, p=[0.74, 0.08, 0.035, 0.03, 0.065, 0.04, 0.01]),
            "fnlwgt": rng.lognormal(12.0, 0.45, rows).round().astype(int),
            "education": np.array(EDUCATION)[edu],
            "education_num": edu_num,
            "marital_status": np.array(MARITAL)[marital],
            "occupation": np.array(OCCUPATION)[occupation],
            "relationship": np.array(RELATIONSHIP)[relationship],
            "race": rng.choice(RACE, rows, p=[0.85, 0.095, 0.03, 0.01, 0.015]),
            "sex": sex,
            "capital_gain": gain,
            "capital_loss": loss,
            "hours_per_week": hours,
            "native_country": rng.choice(COUNTRY, rows, p=[0.9, 0.02, 0.01, 0.01, 0.01, 0.01, 0.04]),
            "income": income,
        }
    )


def sealforge_gc(real: pd.DataFrame, seed: int) -> tuple[float, float, pd.DataFrame, Any]:
    started = time.perf_counter()
    frame, meta = metadata.detect(real)
    model = engines.create("gaussian_copula", "cpu")
    model.fit(frame, meta)
    fitted = time.perf_counter()
    rows = model.sample(len(real), seed)
    return fitted - started, time.perf_counter() - fitted, rows, meta


def raw_sdv_gc(real: pd.DataFrame) -> tuple[float, float, pd.DataFrame]:
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    started = time.perf_counter()
    sdv_meta = Metadata.detect_from_dataframes({"table": real})
    synth = GaussianCopulaSynthesizer(sdv_meta)
    synth.fit({"table": real})
    fitted = time.perf_counter()
    out = synth.sample(len(real))
    rows = out["table"] if isinstance(out, dict) else out
    return fitted - started, time.perf_counter() - fitted, rows


def quality(real: pd.DataFrame, rows: pd.DataFrame, meta: Any) -> float:
    from sdmetrics.reports.single_table import QualityReport

    np.random.seed(0)
    report = QualityReport()
    report.generate(real, rows[real.columns], meta.for_sdmetrics(), verbose=False)
    return float(report.get_score())


def ctgan_epoch_seconds(real: pd.DataFrame, device: str, epochs: int) -> tuple[float, float]:
    """(median seconds per epoch, seconds before the first epoch started: data preparation)."""
    frame, meta = metadata.detect(real)
    stamps: list[float] = []

    def on_epoch(_event: EpochEvent) -> None:
        stamps.append(time.perf_counter())

    started = time.perf_counter()
    model = engines.create("ctgan", device)
    model.fit(frame, meta, epochs=epochs, progress_cb=on_epoch)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    per_epoch = statistics.median(gaps) if gaps else stamps[0] - started
    prep = stamps[0] - started - per_epoch
    return per_epoch, prep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=32_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ctgan-epochs", type=int, default=3)
    parser.add_argument("--only", choices=["gc", "ctgan"], default=None, help="run one part")
    args = parser.parse_args()
    offline.prepare(Path(tempfile.mkdtemp(prefix="sf-bench-synth-")))
    offline.import_sdv()
    warnings.filterwarnings("ignore")
    import torch

    real = adult(args.rows)
    shape = f"{len(real):,} rows x {len(real.columns)} columns"
    print(f"table: {shape} (seed {SEED}); torch threads {torch.get_num_threads()}")
    if args.only != "ctgan":
        gaussian_copula(real, args.repeat)
    if args.only != "gc":
        ctgan(real, args.ctgan_epochs)


def gaussian_copula(real: pd.DataFrame, repeat: int) -> None:
    ours_fit, ours_sample, raw_fit, raw_sample, ours_quality = [], [], [], [], []
    raw_rows = pd.DataFrame()
    for attempt in range(repeat):
        fit_s, sample_s, ours_rows, meta = sealforge_gc(real, SEED + attempt)
        ours_fit.append(fit_s)
        ours_sample.append(sample_s)
        ours_quality.append(quality(real, ours_rows, meta))
        fit_s, sample_s, raw_rows = raw_sdv_gc(real)
        raw_fit.append(fit_s)
        raw_sample.append(sample_s)
    # raw SDV always samples with its fixed seed (73251), so one score is its score; ours is the mean
    # over the job seeds used, since a job seed changes the rows.
    q_ours, q_raw = statistics.mean(ours_quality), quality(real, raw_rows, meta)

    print("\nGaussianCopula, best of", repeat)
    print(f"{'':24}{'Sealforge':>12}{'raw SDV':>12}{'ratio':>10}{'goal':>10}")
    print(f"{'fit (s)':24}{min(ours_fit):12.2f}{min(raw_fit):12.2f}{min(ours_fit) / min(raw_fit):9.2f}x{'<= 1.2x':>10}")
    print(
        f"{'sample 32k rows (s)':24}{min(ours_sample):12.2f}{min(raw_sample):12.2f}"
        f"{min(ours_sample) / min(raw_sample):9.2f}x{'<= 1.2x':>10}"
    )
    total_ours, total_raw = min(ours_fit) + min(ours_sample), min(raw_fit) + min(raw_sample)
    print(f"{'fit + sample (s)':24}{total_ours:12.2f}{total_raw:12.2f}{total_ours / total_raw:9.2f}x{'<= 1.2x':>10}")
    print(f"{'quality score':24}{q_ours:12.4f}{q_raw:12.4f}{q_ours / q_raw:9.4f}x{'>= 1.0x':>10}")
    spread = max(ours_quality) - min(ours_quality)
    print(f"  (Sealforge: mean over {repeat} seeds, spread {spread:.4f}; raw SDV: its fixed sampling seed)")


def ctgan(real: pd.DataFrame, epochs: int) -> None:
    import torch

    print(f"\nCTGAN seconds per epoch ({epochs} epochs, {len(real):,} rows, batch 500)")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    results = {}
    for device in devices:
        per_epoch, prep = ctgan_epoch_seconds(real, device, epochs)
        results[device] = per_epoch
        print(f"  {device:5} {per_epoch:8.2f} s/epoch   (data preparation before epoch 1: {prep:.1f} s)")
    if "cuda" in results:
        print(f"  CPU / CUDA: {results['cpu'] / results['cuda']:.1f}x")
    else:
        print("  cuda  (no GPU on this machine)")


if __name__ == "__main__":
    main()
