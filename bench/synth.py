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
4. ``--only tstr``: on small tables (<= 1,000 rows) of several domains with a class column, the
   TSTR F1 (train on synthetic, test on held-out real rows) of raw SDV's GaussianCopula, of
   Sealforge's (one model of the table), and of Sealforge's with ``class_column`` (a model per
   class, sampled in the real class proportions), beside TRTR (train on real); the share of the
   one-model gap to TRTR that the per-class model closes (goal >= 0.5), and fit times beside raw
   SDV's (goal <= 1.5x); then each one's privacy report on the first seed's rows (the test rows as
   holdout), since per-class empirical marginals sit closer to the data than parametric ones.

    .venv/bin/python bench/synth.py [--rows 32000] [--repeat 3] [--ctgan-epochs 3] [--only gc|ctgan|tstr]
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
    parser.add_argument("--only", choices=["gc", "ctgan", "tstr"], default=None, help="run one part")
    args = parser.parse_args()
    offline.prepare(Path(tempfile.mkdtemp(prefix="sf-bench-synth-")))
    offline.import_sdv()
    warnings.filterwarnings("ignore")
    import torch

    if args.only == "tstr":
        class_tstr(args.repeat)
        return
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


def wine(rows: int, seed: int = SEED) -> pd.DataFrame:
    """A wine-quality-shaped table: chemistry measurements, quality low/mid/high from a non-linear
    mix of alcohol, acidity and sulphates."""
    rng = np.random.default_rng(seed)
    alcohol = rng.normal(10.4, 1.1, rows).round(1)
    acidity = rng.gamma(9.0, 0.9, rows).round(2)
    volatile = rng.gamma(4.0, 0.13, rows).round(3)
    sulphates = rng.lognormal(-0.5, 0.2, rows).round(2)
    sugar = np.where(rng.random(rows) < 0.7, rng.gamma(2, 1.2, rows), rng.gamma(6, 2.0, rows)).round(1)
    ph = (3.9 - 0.06 * acidity + rng.normal(0, 0.1, rows)).round(2)
    score = 0.9 * (alcohol - 10.4) - 3.0 * (volatile - 0.5) + 2.5 * (sulphates - 0.62) - 0.15 * np.abs(ph - 3.3) * 10
    score = score + rng.normal(0, 0.6, rows)
    quality_band = np.where(score > 0.8, "high", np.where(score < -0.6, "low", "mid"))
    return pd.DataFrame(
        {"alcohol": alcohol, "fixed_acidity": acidity, "volatile_acidity": volatile, "sulphates": sulphates,
         "residual_sugar": sugar, "ph": ph, "quality": quality_band}
    )


def plant(rows: int, seed: int = SEED) -> pd.DataFrame:
    """A water plant's telemetry (the appliance's simulator) with two attacks, one row a second,
    timestamps dropped: the class is ``attack``."""
    from simulators import simulate

    attacks = [
        {"technique": "T0856", "start": rows // 4, "duration": rows // 8, "targets": ["LIT101"], "magnitude": 0.3},
        {"technique": "T0831", "start": rows // 2 + rows // 8, "duration": rows // 8, "targets": ["P101"],
         "magnitude": 0},
    ]
    from appliance.services.synth.frames import to_frame

    table = simulate({"plant": "water", "duration": rows, "sample_rate": 1, "seed": seed % 1000,
                      "attacks": attacks}).table
    frame = to_frame(table)
    keep = [c for c in frame.columns if c not in ("timestamp", "attack_id", "technique", "attack_type")
            and frame[c].nunique(dropna=False) > 1]
    out = frame[keep].copy()
    out["attack"] = out["attack"].astype(str)
    return out


def _tstr_f1(rows: pd.DataFrame, test: pd.DataFrame, target: str, train: pd.DataFrame | None) -> tuple[float, float]:
    from appliance.services.synth.tstr import evaluate

    result = evaluate(rows[test.columns], test, target, "classification", 0, real_train=train)
    return float(result["tstr"]["f1"]), float(result["trtr"]["f1"]) if result["trtr"] else float("nan")


def _raw_sdv_rows(train: pd.DataFrame, rows: int) -> tuple[float, pd.DataFrame]:
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    started = time.perf_counter()
    synth = GaussianCopulaSynthesizer(Metadata.detect_from_dataframes({"table": train}))
    synth.fit({"table": train})
    fitted = time.perf_counter() - started
    out = synth.sample(rows)
    return fitted, out["table"] if isinstance(out, dict) else out


def _ours_rows(train: pd.DataFrame, rows: int, class_column: str | None, seed: int) -> tuple[float, pd.DataFrame]:
    started = time.perf_counter()
    frame, meta = metadata.detect(train)
    model = engines.create("gaussian_copula", "cpu", class_column=class_column)
    model.fit(frame, meta)
    fitted = time.perf_counter() - started
    return fitted, model.sample(rows, seed)


def class_tstr(repeat: int) -> None:
    from appliance.services.synth.privacy import privacy_report

    tables = {
        "adult (income)": (adult(800), "income"),
        "wine (quality band)": (wine(900), "quality"),
        "water plant (attack)": (plant(900), "attack"),
    }
    print("TSTR F1 on small tables: 70 % train / 30 % real test rows, synthetic rows = train rows;")
    print(f"mean over {repeat} job seeds (raw SDV samples with its fixed seed); fit seconds best of {repeat}")
    header = f"{'table':24}{'rows':>6}{'TRTR':>8}{'raw SDV':>9}{'one model':>10}{'per class':>10}{'closed':>8}"
    print(header + f"{'fit raw':>9}{'one':>7}{'per cls':>8}{'ratio':>7}")
    notes: list[str] = []
    for name, (real, target) in tables.items():
        split = int(len(real) * 0.7)
        shuffled = real.sample(frac=1.0, random_state=1).reset_index(drop=True)
        train, test = shuffled.iloc[:split].reset_index(drop=True), shuffled.iloc[split:].reset_index(drop=True)
        raw_fit, raw_rows = _raw_sdv_rows(train, len(train))
        raw_f1, trtr = _tstr_f1(raw_rows, test, target, train)
        one_f1: list[float] = []
        per_f1: list[float] = []
        one_fit: list[float] = []
        per_fit: list[float] = []
        raw_fits = [raw_fit]
        privacy: dict[str, dict[str, Any]] = {}
        for attempt in range(repeat):
            fit_s, rows = _ours_rows(train, len(train), None, SEED + attempt)
            one_fit.append(fit_s)
            one_f1.append(_tstr_f1(rows, test, target, None)[0])
            privacy.setdefault("one", privacy_report(rows[train.columns], train, test, SEED))
            fit_s, rows = _ours_rows(train, len(train), target, SEED + attempt)
            per_fit.append(fit_s)
            per_f1.append(_tstr_f1(rows, test, target, None)[0])
            privacy.setdefault("per", privacy_report(rows[train.columns], train, test, SEED))
            if attempt:
                raw_fits.append(_raw_sdv_rows(train, 10)[0])
        one, per = statistics.mean(one_f1), statistics.mean(per_f1)
        closed = (per - one) / (trtr - one) if trtr > one else float("nan")
        raw_best, per_best = min(raw_fits), min(per_fit)
        print(
            f"{name:24}{len(real):6d}{trtr:8.3f}{raw_f1:9.3f}{one:10.3f}{per:10.3f}{closed:8.2f}"
            f"{raw_best:9.2f}{min(one_fit):7.2f}{per_best:8.2f}{per_best / raw_best:6.2f}x"
        )
        notes.append(f"{name:24}" + "".join(
            f"{privacy[k]['dcr']['ratio']:10.2f}{privacy[k]['closer_to_train_share']:8.2f}"
            f"{privacy[k]['exact_copy_rate']:8.3f}{privacy[k]['risk']:>9}" for k in ("one", "per")))
    print("closed: (per class - one model) / (TRTR - one model), goal >= 0.5; ratio: per-class fit / raw SDV fit")
    print("\nprivacy of the first seed's rows against the train rows, the test rows as holdout (privacy_report):")
    print(f"{'':24}{'one model':-^35}{'per class':-^35}")
    print(f"{'table':24}" + f"{'DCR ratio':>10}{'closer':>8}{'copies':>8}{'risk':>9}" * 2)
    for line in notes:
        print(line)
    print("DCR ratio: median synthetic-to-train distance / median holdout-to-train (< 0.8: copying); closer: share")
    print("of synthetic rows nearer the train rows than the holdout rows (> 0.6: copying); copies: exact-copy share")


if __name__ == "__main__":
    main()
