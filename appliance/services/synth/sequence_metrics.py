"""Sequence checks for the report of a sequential (``par``) model: does the time structure survive?

Column shapes say nothing about order. These compare real and synthetic series on what a plant
engineer looks at: how much each tag follows its previous value (lag-1 autocorrelation), how tags
move together (cross-correlation of column pairs), and whether a classifier can tell 60-row windows
of synthetic data from real ones (discriminator AUC: 0.5 = indistinguishable, 1.0 = always told
apart). Autocorrelations are computed within each sequence and averaged, so the joins between
sequences do not count. Everything is seeded, so a rerun gives the same numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

WINDOW = 60
MAX_WINDOWS = 2_000
MIN_WINDOWS = 10
FOLDS = 5
AUTOCORR_GAP_OK = 0.1
AUC_OK = 0.75


def numeric_columns(frame: pd.DataFrame, skip: list[str]) -> list[str]:
    """Numeric, non-constant columns other than the sequence key and index."""
    import pandas as pd

    return [
        c for c in frame.columns
        if c not in skip and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        and frame[c].nunique(dropna=True) > 1
    ]


def _groups(frame: pd.DataFrame, key: str | None) -> list[pd.DataFrame]:
    if key is None or key not in frame.columns:
        return [frame]
    return [part for _, part in frame.groupby(key, sort=False)]


def lag1(frame: pd.DataFrame, column: str, key: str | None) -> float | None:
    """Mean lag-1 autocorrelation of ``column`` over the sequences (row-weighted); None if flat."""
    total, weight = 0.0, 0
    for part in _groups(frame, key):
        values = part[column].to_numpy(dtype=float)
        values = values[~np.isnan(values)]
        if len(values) < 3 or np.std(values[1:]) == 0 or np.std(values[:-1]) == 0:
            continue
        total += float(np.corrcoef(values[:-1], values[1:])[0, 1]) * len(values)
        weight += len(values)
    return round(total / weight, 4) if weight else None


def autocorrelation(real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str], key: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in columns:
        r, s = lag1(real, column, key), lag1(synthetic, column, key)
        gap = None if r is None or s is None else round(abs(r - s), 4)
        out[column] = {"real": r, "synthetic": s, "gap": gap}
    gaps = [v["gap"] for v in out.values() if v["gap"] is not None]
    return {"columns": out, "max_gap": max(gaps) if gaps else None,
            "within_0_1": sum(g <= AUTOCORR_GAP_OK for g in gaps), "compared": len(gaps)}


def cross_correlation(real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """Pearson correlation of each column pair, real beside synthetic (pairs capped at 45)."""
    pairs: list[dict[str, Any]] = []
    for i, a in enumerate(columns[:10]):
        for b in columns[i + 1:10]:
            r = real[[a, b]].corr().iloc[0, 1]
            s = synthetic[[a, b]].corr().iloc[0, 1]
            rr = None if np.isnan(r) else round(float(r), 4)
            ss = None if np.isnan(s) else round(float(s), 4)
            gap = None if rr is None or ss is None else round(abs(rr - ss), 4)
            pairs.append({"columns": [a, b], "real": rr, "synthetic": ss, "gap": gap})
    gaps = [p["gap"] for p in pairs if p["gap"] is not None]
    return {"pairs": pairs, "mean_gap": round(float(np.mean(gaps)), 4) if gaps else None}


def _window_features(frame: pd.DataFrame, columns: list[str], key: str | None) -> np.ndarray:
    """One row per whole 60-row window: mean, std, min, max, lag-1 change and end-minus-start per column."""
    rows = []
    for part in _groups(frame, key):
        values = part[columns].to_numpy(dtype=float)
        for start in range(0, len(values) - WINDOW + 1, WINDOW):
            w = np.nan_to_num(values[start:start + WINDOW])
            d = np.diff(w, axis=0)
            rows.append(np.concatenate([w.mean(0), w.std(0), w.min(0), w.max(0), np.abs(d).mean(0), w[-1] - w[0]]))
    return np.array(rows) if rows else np.empty((0, 6 * len(columns)))


def discriminator(real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str], key: str | None,
                  seed: int) -> dict[str, Any]:
    """Cross-validated ROC AUC of a random forest telling real 60-row windows from synthetic ones."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    rng = np.random.default_rng(seed)
    a, b = _window_features(real, columns, key), _window_features(synthetic, columns, key)
    count = min(len(a), len(b), MAX_WINDOWS)
    if count < MIN_WINDOWS or not columns:
        return {"auc": None, "windows": int(count), "window_rows": WINDOW,
                "note": f"fewer than {MIN_WINDOWS} whole {WINDOW}-row windows on a side; not computed"}
    a = a[np.sort(rng.choice(len(a), count, replace=False))]
    b = b[np.sort(rng.choice(len(b), count, replace=False))]
    x = np.vstack([a, b])
    y = np.array([0] * count + [1] * count)
    folds = StratifiedKFold(n_splits=min(FOLDS, count), shuffle=True, random_state=seed % 2**31)
    forest = RandomForestClassifier(n_estimators=100, random_state=seed % 2**31, n_jobs=1)
    auc = float(np.mean(cross_val_score(forest, x, y, cv=folds, scoring="roc_auc")))
    return {"auc": round(auc, 4), "windows": int(count), "window_rows": WINDOW}


def sequence_report(real: pd.DataFrame, synthetic: pd.DataFrame, sequence: dict[str, Any], seed: int) -> dict[str, Any]:
    """The ``sequences`` section of report.json: real rows are the training rows (windows as they came)."""
    key = sequence.get("sequence_key")
    skip = [c for c in (key, sequence.get("sequence_index")) if c]
    columns = [c for c in numeric_columns(real, skip) if c in synthetic.columns]
    auto = autocorrelation(real, synthetic, columns, key)
    disc = discriminator(real, synthetic, columns, key, seed)
    verdict = "unknown"
    if disc["auc"] is not None and auto["max_gap"] is not None:
        verdict = "good" if disc["auc"] <= AUC_OK and auto["max_gap"] <= AUTOCORR_GAP_OK else "poor"
    text = (f"lag-1 autocorrelation within {AUTOCORR_GAP_OK} of the real one on "
            f"{auto['within_0_1']}/{auto['compared']} numeric columns; a classifier tells synthetic "
            f"{WINDOW}-row windows from real ones with AUC "
            f"{disc['auc']} (0.5: indistinguishable, above {AUC_OK}: easy to tell)")
    return {"autocorrelation": auto, "cross_correlation": cross_correlation(real, synthetic, columns),
            "discriminator": disc, "verdict": verdict, "text": text}
