"""Baseline anomaly detectors for the `ics_benchmark`: trained on normal rows only, each gives an
anomaly score per row and a threshold taken from normal rows it did not train on.

* `ar_residual`: per-tag linear autoregressive forecast (order `AR_ORDER`, least squares on the
  standardised tag and its own lags); the score is the largest absolute residual in units of that
  tag's residual spread on normal data, smoothed over `SMOOTH` rows. It catches what breaks a tag's
  own dynamics (steps, freezes, replays, pulses).
* `pca`: reconstruction error from principal components that keep `PCA_VARIANCE` of the normal
  variance; it catches what breaks the relations between tags.
* `isolation_forest`: scikit-learn's IsolationForest on the standardised rows; its score is the
  negated `score_samples`.

Thresholds: the `THRESHOLD_QUANTILE` quantile of the score on the last `VALIDATION` share of the
normal rows (held out from fitting), raised by `THRESHOLD_MARGIN` times its distance from the
median score (a margin in the score's own scale, whatever that scale is), so a detector tuned this way raises
few alarms on normal data by construction. Everything is seeded: the same rows give the same scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

AR_ORDER = 3
SMOOTH = 5
PCA_VARIANCE = 0.99
IF_TREES = 100
IF_SAMPLE = 256
IF_TRAIN_ROWS = 20_000
VALIDATION = 0.2
THRESHOLD_QUANTILE = 0.9999
THRESHOLD_MARGIN = 0.2
STD_FLOOR = 1e-6


def _smooth(x: np.ndarray, width: int = SMOOTH) -> np.ndarray:
    """Trailing moving average (causal: a row's score uses that row and the ones before)."""
    if width <= 1 or len(x) == 0:
        return x
    c = np.cumsum(np.concatenate(([0.0], x)))
    out = np.empty_like(x)
    k = np.arange(1, len(x) + 1)
    lo = np.maximum(0, k - width)
    out[:] = (c[k] - c[lo]) / (k - lo)
    return out


@dataclass
class Scaler:
    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Scaler:
        return cls(x.mean(axis=0), np.maximum(x.std(axis=0), STD_FLOOR))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std


class ARResidual:
    name = "ar_residual"

    def fit(self, x: np.ndarray, seed: int) -> None:
        del seed  # least squares is deterministic
        n, k = x.shape
        self.coef = np.zeros((k, AR_ORDER + 1))
        lags = self._lags(x)
        target = x[AR_ORDER:]
        for j in range(k):
            design = np.column_stack([lags[:, j, :], np.ones(n - AR_ORDER)])
            self.coef[j] = np.linalg.lstsq(design, target[:, j], rcond=None)[0]
        residual = target - self._predict(lags)
        self.spread = np.maximum(residual.std(axis=0), 1e-3)

    @staticmethod
    def _lags(x: np.ndarray) -> np.ndarray:
        """(rows - order, tags, order): x[t-1], ..., x[t-order] for every t from `order` on."""
        n = len(x)
        return np.stack([x[AR_ORDER - i - 1:n - i - 1] for i in range(AR_ORDER)], axis=2)

    def _predict(self, lags: np.ndarray) -> np.ndarray:
        return np.einsum("ntp,tp->nt", lags, self.coef[:, :AR_ORDER]) + self.coef[:, AR_ORDER]

    def score(self, x: np.ndarray) -> np.ndarray:
        residual = np.abs(x[AR_ORDER:] - self._predict(self._lags(x))) / self.spread
        raw = residual.max(axis=1)
        return _smooth(np.concatenate((np.full(AR_ORDER, raw[:1].mean() if len(raw) else 0.0), raw)))


class PCAReconstruction:
    name = "pca"

    def fit(self, x: np.ndarray, seed: int) -> None:
        from sklearn.decomposition import PCA

        full = PCA(svd_solver="full", random_state=seed).fit(x)
        keep = int(np.searchsorted(np.cumsum(full.explained_variance_ratio_), PCA_VARIANCE) + 1)
        self.components = full.components_[: min(keep, x.shape[1])]
        self.mean = full.mean_

    def score(self, x: np.ndarray) -> np.ndarray:
        centred = x - self.mean
        recon = centred @ self.components.T @ self.components
        return _smooth(np.sqrt(np.mean((centred - recon) ** 2, axis=1)))


class IsolationForestDetector:
    name = "isolation_forest"

    def fit(self, x: np.ndarray, seed: int) -> None:
        from sklearn.ensemble import IsolationForest

        rng = np.random.default_rng(seed)
        rows = x if len(x) <= IF_TRAIN_ROWS else x[np.sort(rng.choice(len(x), IF_TRAIN_ROWS, replace=False))]
        self.model = IsolationForest(n_estimators=IF_TREES, max_samples=min(IF_SAMPLE, len(rows)),
                                     random_state=seed, n_jobs=1).fit(rows)

    def score(self, x: np.ndarray) -> np.ndarray:
        return _smooth(-self.model.score_samples(x))


DETECTORS: dict[str, Callable[[], Any]] = {
    ARResidual.name: ARResidual,
    PCAReconstruction.name: PCAReconstruction,
    IsolationForestDetector.name: IsolationForestDetector,
}


def feature_columns(train: dict[str, np.ndarray]) -> list[str]:
    """Columns a detector sees: every numeric tag that moves on normal data (a constant column
    carries no information, and scaling it would blow any change up to infinity)."""
    return [name for name, values in train.items() if np.ptp(values) > 0]


def fit_and_threshold(name: str, train: np.ndarray, seed: int) -> tuple[Any, float]:
    """Fit on the first (1 - VALIDATION) of the normal rows; threshold from the held-out rest."""
    cut = int(len(train) * (1 - VALIDATION))
    detector = DETECTORS[name]()
    detector.fit(train[:cut], seed)
    held_out = detector.score(train[cut:])
    top, median = np.quantile(held_out, [THRESHOLD_QUANTILE, 0.5])
    threshold = float(top + THRESHOLD_MARGIN * (top - median))
    return detector, threshold
