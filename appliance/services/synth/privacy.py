"""Privacy checks of synthetic rows: distance to closest record (DCR) and exact copies.

Rows are encoded the same way for every set, fitted on the training rows: numbers and dates
min-max scaled to [0, 1] with a missing-value flag, categories one-hot (the most frequent
``TOP_CATEGORIES``, the rest pooled) at half weight, so one differing category costs 1 like a
full-range numeric gap. The L1 distance divided by the column count is then a per-column mean
in about [0, 1] (Gower-like), and scikit-learn's nearest-neighbour search finds each row's closest
training row.

The numbers only mean something beside a baseline: real rows the model never saw (the holdout).
If synthetic rows sit much closer to the training rows than those do, or more than half of them
are nearer the training rows than the holdout rows, the model is copying rather than generalising.
Sets are sampled (seeded) to keep this to about a second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

MAX_SYNTHETIC = 2_000
MAX_REFERENCE = 20_000
MAX_HOLDOUT = 2_000
TOP_CATEGORIES = 30
RISK_SHARE = 0.6
RISK_RATIO = 0.8
RISK_COPY_MARGIN = 0.02


class RowEncoder:
    """Numeric matrix of a table's rows, fitted on one reference set (the training rows)."""

    def fit(self, frame: pd.DataFrame) -> RowEncoder:
        import pandas as pd

        self.columns = list(frame.columns)
        self.numeric: dict[str, tuple[float, float]] = {}
        self.categories: dict[str, list[str]] = {}
        for name in self.columns:
            values = _numeric(frame[name])
            if values is not None:
                lo, hi = np.nanmin(values) if values.size else 0.0, np.nanmax(values) if values.size else 1.0
                self.numeric[name] = (float(lo), float(hi - lo) or 1.0)
            else:
                counts = pd.Series(frame[name].astype(str)).value_counts()
                self.categories[name] = list(counts.index[:TOP_CATEGORIES])
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for name in self.columns:
            if name in self.numeric:
                lo, span = self.numeric[name]
                values = _numeric(frame[name])
                values = np.zeros(len(frame)) if values is None else values
                missing = np.isnan(values)
                scaled = np.clip((np.nan_to_num(values, nan=lo) - lo) / span, 0.0, 1.0)
                parts.extend([scaled, missing.astype(float)])
            else:
                text = frame[name].astype(str).to_numpy()
                known = self.categories[name]
                onehot = np.stack([text == c for c in known] + [~np.isin(text, known)], axis=1)
                parts.extend(list(onehot.T.astype(float) * 0.5))
        return np.column_stack(parts) if parts else np.zeros((len(frame), 0))


def _numeric(series: pd.Series) -> np.ndarray | None:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return series.astype(float).to_numpy()
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.astype("int64").astype(float).to_numpy()
        values[series.isna().to_numpy()] = np.nan
        return values
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float).to_numpy()
    return None


def _sample(frame: pd.DataFrame, limit: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) <= limit:
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), limit, replace=False))]


def _nearest(reference: np.ndarray, queries: np.ndarray, columns: int) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=1, metric="manhattan").fit(reference)
    distances, _ = index.kneighbors(queries)
    return np.asarray(distances[:, 0]) / max(columns, 1)


def _stats(values: np.ndarray) -> dict[str, float]:
    return {
        "median": round(float(np.median(values)), 6),
        "p05": round(float(np.quantile(values, 0.05)), 6),
        "mean": round(float(np.mean(values)), 6),
    }


def _row_keys(frame: pd.DataFrame) -> list[int]:
    """A hash per row over normalised values, so 40 and 40.0 (int vs float columns) still match."""
    import pandas as pd

    normal = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        values = _numeric(frame[name])
        normal[name] = np.round(values, 9) if values is not None else frame[name].astype(str)
    return list(pd.util.hash_pandas_object(normal, index=False).tolist())


def exact_copy_rate(rows: pd.DataFrame, train: pd.DataFrame) -> float:
    """Share of ``rows`` that equal some training row in every column."""
    if not len(rows):
        return 0.0
    train_keys = set(_row_keys(train))
    return round(sum(key in train_keys for key in _row_keys(rows)) / len(rows), 6)


def privacy_report(
    synthetic: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame | None, seed: int
) -> dict[str, Any]:
    """DCR of synthetic rows to the training rows, beside the holdout baseline, and copy rates."""
    columns = [c for c in train.columns if c in synthetic.columns]
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    train, synthetic = train[columns], synthetic[columns]
    has_holdout = holdout is not None and len(holdout) > 0
    syn = _sample(synthetic, MAX_SYNTHETIC, rng)
    ref = _sample(train, MAX_REFERENCE, rng)
    encoder = RowEncoder().fit(train)
    ref_x, syn_x = encoder.transform(ref), encoder.transform(syn)
    syn_to_train = _nearest(ref_x, syn_x, len(columns))
    report: dict[str, Any] = {
        "dcr": {"synthetic_to_train": _stats(syn_to_train), "holdout_to_train": None, "ratio": None},
        "closer_to_train_share": None,
        "exact_copy_rate": exact_copy_rate(syn, train),
        "holdout_exact_copy_rate": None,
        "rows_compared": {"synthetic": len(syn), "train": len(ref), "holdout": 0},
        "risk": "unknown",
    }
    if not has_holdout:
        return report
    assert holdout is not None
    hold = _sample(holdout[columns], MAX_HOLDOUT, rng)
    hold_x = encoder.transform(hold)
    hold_to_train = _nearest(ref_x, hold_x, len(columns))
    same_size = ref_x[rng.choice(len(ref_x), min(len(hold_x), len(ref_x)), replace=False)]
    to_train, to_hold = _nearest(same_size, syn_x, len(columns)), _nearest(hold_x, syn_x, len(columns))
    share = float(np.mean(to_train < to_hold) + 0.5 * np.mean(to_train == to_hold))
    baseline = float(np.median(hold_to_train))
    ratio = float(np.median(syn_to_train)) / baseline if baseline > 0 else None
    hold_copies = exact_copy_rate(hold, train)
    report["dcr"]["holdout_to_train"] = _stats(hold_to_train)
    report["dcr"]["ratio"] = round(ratio, 6) if ratio is not None else None
    report["closer_to_train_share"] = round(share, 6)
    report["holdout_exact_copy_rate"] = hold_copies
    report["rows_compared"]["holdout"] = len(hold)
    risky = share > RISK_SHARE or (ratio is not None and ratio < RISK_RATIO)
    risky = risky or report["exact_copy_rate"] > hold_copies + RISK_COPY_MARGIN
    report["risk"] = "elevated" if risky else "low"
    return report
