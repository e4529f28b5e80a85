"""TSTR (train on synthetic, test on real) with scikit-learn, and per-column distribution distances.

A gradient-boosted model (``HistGradientBoosting*``: fast, handles missing values and categories
natively) learns the target from the synthetic rows and is scored on real rows the generative
model never saw. When the real training rows are at hand, the same model trained on them (TRTR)
gives the ceiling the synthetic score should be read against.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from appliance.services.synth.interface import SynthesisError

if TYPE_CHECKING:
    import pandas as pd

MAX_ROWS = 200_000
MAX_CATEGORIES = 250
REGRESSION_MIN_DISTINCT = 20


def _kind(series: pd.Series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    return "category"


def infer_task(target: pd.Series) -> str:
    numeric = _kind(target) == "numeric"
    return "regression" if numeric and target.nunique(dropna=True) > REGRESSION_MIN_DISTINCT else "classification"


def _as_float(series: pd.Series) -> np.ndarray:
    kind = _kind(series)
    if kind == "datetime":
        values = series.astype("int64").astype(float).to_numpy()
        values[series.isna().to_numpy()] = np.nan
        return values
    if kind == "bool":
        return series.astype(float).to_numpy()
    import pandas as pd

    return pd.to_numeric(series, errors="coerce").astype(float).to_numpy()


class Features:
    """The feature matrix, built the same way for every set: numbers as floats, categories as
    codes over the values seen in training (unseen ones become missing)."""

    def __init__(self, train: pd.DataFrame, columns: list[str]) -> None:
        self.columns: list[str] = []
        self.dropped: list[str] = []
        self.codes: dict[str, dict[str, int]] = {}
        for name in columns:
            if _kind(train[name]) == "category":
                values = train[name].dropna().astype(str).unique()
                if len(values) > MAX_CATEGORIES:
                    self.dropped.append(name)
                    continue
                self.codes[name] = {v: i for i, v in enumerate(sorted(values))}
            self.columns.append(name)

    @property
    def categorical(self) -> list[bool]:
        return [name in self.codes for name in self.columns]

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for name in self.columns:
            if name in self.codes:
                mapping = self.codes[name]
                text = frame[name].astype(str).where(frame[name].notna(), None)
                parts.append(np.array([mapping.get(v, np.nan) if v is not None else np.nan for v in text], float))
            else:
                parts.append(_as_float(frame[name]))
        return np.column_stack(parts) if parts else np.zeros((len(frame), 0))


def _finite(value: float | None) -> float | None:
    return round(float(value), 6) if value is not None and math.isfinite(float(value)) else None


def _classification(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, categorical: list[bool], seed: int
) -> dict[str, Any]:
    from sklearn import metrics
    from sklearn.ensemble import HistGradientBoostingClassifier

    if len(set(y_train)) < 2:
        raise SynthesisError("target", "the training rows hold a single class of the target; nothing to learn")
    model = HistGradientBoostingClassifier(categorical_features=categorical or None, random_state=seed % 2**32)
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    labels = sorted(set(y_test) | set(model.classes_))
    proba = np.zeros((len(x_test), len(labels)))
    raw = model.predict_proba(x_test)
    for i, label in enumerate(model.classes_):
        proba[:, labels.index(label)] = raw[:, i]
    values, counts = np.unique(y_test, return_counts=True)
    binary = len(labels) == 2
    positive = str(values[np.argmin(counts)]) if binary else None
    average = "binary" if binary else "macro"
    kwargs: dict[str, Any] = {"average": average, "zero_division": 0}
    if binary:
        kwargs["pos_label"] = positive
    out: dict[str, Any] = {
        "accuracy": _finite(metrics.accuracy_score(y_test, predicted)),
        "f1": _finite(metrics.f1_score(y_test, predicted, **kwargs)),
        "precision": _finite(metrics.precision_score(y_test, predicted, **kwargs)),
        "recall": _finite(metrics.recall_score(y_test, predicted, **kwargs)),
        "roc_auc": None,
        "log_loss": None,
        "positive_class": positive,
        "average": average,
    }
    try:
        if binary:
            out["roc_auc"] = _finite(metrics.roc_auc_score(y_test == positive, proba[:, labels.index(positive)]))
        else:
            out["roc_auc"] = _finite(metrics.roc_auc_score(y_test, proba, multi_class="ovr", labels=labels))
    except ValueError:
        pass
    clipped = np.clip(proba, 1e-15, 1.0)
    out["log_loss"] = _finite(metrics.log_loss(y_test, clipped / clipped.sum(axis=1, keepdims=True), labels=labels))
    return out


def _regression(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, categorical: list[bool], seed: int
) -> dict[str, Any]:
    from sklearn import metrics
    from sklearn.ensemble import HistGradientBoostingRegressor

    model = HistGradientBoostingRegressor(categorical_features=categorical or None, random_state=seed % 2**32)
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    return {
        "r2": _finite(metrics.r2_score(y_test, predicted)),
        "mae": _finite(metrics.mean_absolute_error(y_test, predicted)),
        "rmse": _finite(math.sqrt(metrics.mean_squared_error(y_test, predicted))),
    }


def _fit_score(
    train: pd.DataFrame, test: pd.DataFrame, target: str, task: str, features: list[str], seed: int
) -> tuple[dict[str, Any], Features]:
    encoder = Features(train, features)
    if task == "regression":
        y_train, y_test = _as_float(train[target]), _as_float(test[target])
        keep_train, keep_test = ~np.isnan(y_train), ~np.isnan(y_test)
    else:
        keep_train, keep_test = train[target].notna().to_numpy(), test[target].notna().to_numpy()
        y_train, y_test = train[target].astype(str).to_numpy(), test[target].astype(str).to_numpy()
    if not keep_train.any() or not keep_test.any():
        raise SynthesisError("target", "no rows with a value in the target column")
    x_train, x_test = encoder.matrix(train)[keep_train], encoder.matrix(test)[keep_test]
    fit = _regression if task == "regression" else _classification
    scores = fit(x_train, y_train[keep_train], x_test, y_test[keep_test], encoder.categorical, seed)
    return scores, encoder


def column_distances(real: pd.DataFrame, synthetic: pd.DataFrame) -> list[dict[str, Any]]:
    """KS statistic per numeric or date column, total variation distance per categorical one;
    ``score`` is 1 minus the distance (1 = same distribution)."""
    from scipy.stats import ks_2samp

    out = []
    for name in [c for c in real.columns if c in synthetic.columns]:
        if _kind(real[name]) == "category" or _kind(real[name]) == "bool":
            a = real[name].astype(str).value_counts(normalize=True)
            b = synthetic[name].astype(str).value_counts(normalize=True)
            distance = 0.5 * float(a.subtract(b, fill_value=0).abs().sum())
            metric = "tvd"
        else:
            a_values, b_values = _as_float(real[name]), _as_float(synthetic[name])
            a_values, b_values = a_values[~np.isnan(a_values)], b_values[~np.isnan(b_values)]
            if not len(a_values) or not len(b_values):
                continue
            distance, metric = float(ks_2samp(a_values, b_values).statistic), "ks"
        out.append({"column": name, "metric": metric, "statistic": _finite(distance), "score": _finite(1 - distance)})
    return out


def evaluate(
    synthetic: pd.DataFrame,
    real_test: pd.DataFrame,
    target: str,
    task: str,
    seed: int,
    real_train: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """TSTR metrics (and TRTR beside them when the real training rows are given)."""
    if task == "auto":
        task = infer_task(real_test[target])
    if task == "regression" and _kind(real_test[target]) != "numeric":
        raise SynthesisError("task", f"regression needs a numeric target; {target!r} is not numeric")
    features = [c for c in synthetic.columns if c in real_test.columns and c != target]
    if not features:
        raise SynthesisError("target", "no feature columns besides the target are shared by both sets")
    tstr, encoder = _fit_score(synthetic, real_test, target, task, features, seed)
    trtr = _fit_score(real_train, real_test, target, task, features, seed)[0] if real_train is not None else None
    metric = "r2" if task == "regression" else "f1"
    return {
        "task": task,
        "target": target,
        "metric": metric,
        "score": tstr[metric],
        "tstr": tstr,
        "trtr": trtr,
        "features": encoder.columns,
        "dropped_features": encoder.dropped,
        "columns": column_distances(real_test, synthetic),
        "rows": {
            "synthetic": len(synthetic),
            "real_test": len(real_test),
            "real_train": len(real_train) if real_train is not None else 0,
        },
    }
