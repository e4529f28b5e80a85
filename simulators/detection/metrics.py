"""Detection metrics for labelled time series: point-wise F1, point-adjusted F1 and eTaPR.

* Point-wise: every row is a sample; precision, recall and F1 over rows.
* Point-adjusted (Xu et al. 2018, the common "PA" protocol): when any row of a labelled attack
  segment is predicted, the whole segment counts as predicted; then point-wise scores. It is known
  to overrate detectors (one lucky alarm credits a whole segment), which is why eTaPR exists.
* eTaPR (Hwang et al., "Do you know existing accuracy metrics overrate time-series anomaly
  detections?", SAC 2022; the metric the HAI benchmark asks for). Ranges, not rows, are the units:
  anomalies A_i (labelled segments) and predictions P_j (runs of alarms). Definitions follow the
  authors' reference implementation (`eTaPR_pkg.etapr`), uniform weighting:

  - score matrix S[i, j] = |A_i ∩ P_j| plus, when delta > 0, the decaying weights of P_j's rows in
    the ambiguous section after A_i (int(delta * (end_i - start_i)) rows, cut at the next anomaly);
  - pruning, repeated until nothing changes: an anomaly whose row sum / |A_i| is below theta_r (but
    not 0) loses its row; a prediction whose column sum / |P_j| is below theta_p (but not 0) loses
    its column;
  - recall per anomaly: d_i = 1 if (sum_j S[i, j]) / |A_i| >= theta_r else 0, p_i = min(1, that
    ratio); eTaR = mean_i (d_i + d_i * p_i) / 2;
  - precision per prediction: d_j = 1 if (sum_i S[i, j]) / |P_j| >= theta_p else 0, p_j = that
    ratio; eTaP = sum_j w_j (d_j + d_j * p_j) / 2 / sum_j w_j with w_j = sqrt(|P_j|);
  - eTaPR F1 = 2 eTaP eTaR / (eTaP + eTaR) (0 when both are 0).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

THETA_P = 0.5  # the reference implementation's defaults
THETA_R = 0.1
DELTA = 0.0


def ranges(flags: np.ndarray) -> np.ndarray:
    """Runs of True in a boolean vector as an (n, 2) int array of inclusive [start, end] indices."""
    x = np.asarray(flags, dtype=bool).astype(np.int8)
    if not len(x):
        return np.zeros((0, 2), dtype=np.int64)
    edges = np.diff(np.concatenate(([0], x, [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return np.stack([starts, ends], axis=1).astype(np.int64)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def pointwise(labels: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Row-level precision, recall and F1."""
    y, p = np.asarray(labels, bool), np.asarray(pred, bool)
    tp = int(np.sum(y & p))
    fp = int(np.sum(~y & p))
    fn = int(np.sum(y & ~p))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": precision, "recall": recall, "f1": _f1(precision, recall)}


def point_adjust(labels: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Predictions with every labelled segment that holds at least one alarm filled in whole."""
    y, adjusted = np.asarray(labels, bool), np.asarray(pred, bool).copy()
    for start, end in ranges(y):
        if adjusted[start:end + 1].any():
            adjusted[start:end + 1] = True
    return adjusted


def point_adjusted(labels: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Point-adjusted precision, recall and F1."""
    return pointwise(labels, point_adjust(labels, pred))


def _decaying(length: int) -> np.ndarray:
    """Weights 1 / (1 + e^v), v spread evenly over [-6, 6] along an ambiguous section."""
    if length <= 0:
        return np.zeros(0)
    v = np.array([-6.0]) if length == 1 else -6.0 + np.arange(length) * 12.0 / (length - 1)
    return 1.0 / (1.0 + np.exp(v))


def _score_matrix(anomalies: np.ndarray, predictions: np.ndarray, delta: float) -> np.ndarray:
    """S[i, j]: rows of prediction j inside anomaly i, plus its decaying credit in i's ambiguous section."""
    a0, a1 = anomalies[:, 0:1], anomalies[:, 1:2]
    p0, p1 = predictions[:, 0][None, :], predictions[:, 1][None, :]
    overlap = np.clip(np.minimum(a1, p1) - np.maximum(a0, p0) + 1, 0, None).astype(np.float64)
    if delta <= 0:
        return overlap
    n = len(anomalies)
    for i in range(n):
        start, end = int(anomalies[i, 0]), int(anomalies[i, 1])
        amb0 = end + 1
        amb1 = amb0 + int(delta * (end - start))
        if i + 1 < n and amb1 > anomalies[i + 1, 0]:
            amb1 = int(anomalies[i + 1, 0]) - 1
        if not amb0 < amb1:  # the reference implementation skips sections of one row or less
            continue
        weights = np.concatenate(([0.0], np.cumsum(_decaying(amb1 - amb0 + 1))))
        lo = np.clip(predictions[:, 0], amb0, amb1 + 1) - amb0
        hi = np.clip(predictions[:, 1] + 1, amb0, amb1 + 1) - amb0
        overlap[i] += np.where(hi > lo, weights[hi] - weights[lo], 0.0)
    return overlap


def _prune(score: np.ndarray, a_len: np.ndarray, p_len: np.ndarray, theta_p: float, theta_r: float) -> np.ndarray:
    s = score.copy()
    while True:
        tar = s.sum(axis=1) / a_len
        drop_a = (tar < theta_r) & (tar != 0.0)
        s[drop_a, :] = 0.0
        tap = s.sum(axis=0) / p_len
        drop_p = (tap < theta_p) & (tap != 0.0)
        s[:, drop_p] = 0.0
        if not drop_a.any() and not drop_p.any():
            return s


def etapr(labels: np.ndarray, pred: np.ndarray, theta_p: float = THETA_P, theta_r: float = THETA_R,
          delta: float = DELTA) -> dict[str, Any]:
    """eTaP, eTaR, their detection/portion parts and the F1 (definitions in the module docstring)."""
    if not (0.0 <= theta_p <= 1.0 and 0.0 <= theta_r <= 1.0 and 0.0 <= delta <= 1.0):
        raise ValueError("theta_p, theta_r and delta must lie in [0, 1]")
    anomalies, predictions = ranges(labels), ranges(pred)
    out: dict[str, Any] = {"anomalies": len(anomalies), "predictions": len(predictions)}
    if not len(anomalies) or not len(predictions):
        zeros = dict.fromkeys(("eTaP", "eTaPd", "eTaPp", "eTaR", "eTaRd", "eTaRp", "f1"), 0.0)
        return {**out, **zeros, "detected_anomalies": 0, "correct_predictions": 0}
    a_len = (anomalies[:, 1] - anomalies[:, 0] + 1).astype(np.float64)
    p_len = (predictions[:, 1] - predictions[:, 0] + 1).astype(np.float64)
    s = _prune(_score_matrix(anomalies, predictions, delta), a_len, p_len, theta_p, theta_r)
    r_ratio = s.sum(axis=1) / a_len
    r_det = (r_ratio >= theta_r).astype(np.float64)
    r_por = np.minimum(r_ratio, 1.0)
    p_ratio = s.sum(axis=0) / p_len
    p_det = (p_ratio >= theta_p).astype(np.float64)
    w = np.sqrt(p_len)
    etar = float(np.mean((r_det + r_det * r_por) / 2))
    etap = float(np.sum(w * (p_det + p_det * p_ratio) / 2) / w.sum())
    out.update(
        eTaR=etar, eTaRd=float(r_det.mean()), eTaRp=float(r_por.mean()),
        eTaP=etap, eTaPd=float(np.sum(w * p_det) / w.sum()), eTaPp=float(np.sum(w * p_ratio) / w.sum()),
        f1=_f1(etap, etar), detected_anomalies=int(r_det.sum()), correct_predictions=int(p_det.sum()),
    )
    return out


def summary(labels: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """The three scores the benchmark reports, rounded for a stable, readable result."""
    pw, pa, et = pointwise(labels, pred), point_adjusted(labels, pred), etapr(labels, pred)

    def r(x: float) -> float:
        return round(float(x), 6) if math.isfinite(x) else 0.0

    return {
        "f1": r(pw["f1"]), "precision": r(pw["precision"]), "recall": r(pw["recall"]),
        "pa_f1": r(pa["f1"]),
        "etapr_f1": r(et["f1"]), "etap": r(et["eTaP"]), "etar": r(et["eTaR"]),
        "detected_attacks": et["detected_anomalies"], "attacks": et["anomalies"], "alarms": et["predictions"],
    }
