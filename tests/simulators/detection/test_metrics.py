"""Detection metrics against cases computed by hand from their definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulators.detection.metrics import etapr, point_adjusted, pointwise, ranges, summary


def _flags(n: int, *spans: tuple[int, int]) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    for a, b in spans:
        out[a:b + 1] = True
    return out


def test_ranges_are_inclusive_runs() -> None:
    assert ranges(_flags(10, (0, 1), (4, 4), (8, 9))).tolist() == [[0, 1], [4, 4], [8, 9]]
    assert ranges(np.zeros(5, bool)).shape == (0, 2)


def test_etapr_without_pruning() -> None:
    """Anomalies A1 = rows 2..5 (4 rows), A2 = 12..13 (2 rows); alarms P1 = 4..7, P2 = 10, P3 = 13..14.

    Score matrix (rows in common): S[A1,P1] = |{4,5}| = 2, S[A2,P3] = |{13}| = 1, all else 0.
    Pruning (theta_r 0.1, theta_p 0.5): A1 2/4 = 0.5, A2 1/2 = 0.5 keep; P1 2/4 = 0.5, P3 1/2 = 0.5
    keep; P2 scores 0, which the rule leaves alone.
    eTaR = mean over anomalies of (d + d*p)/2 = mean((1 + 0.5)/2, (1 + 0.5)/2) = 0.75.
    eTaP, weights sqrt(len) = 2, 1, sqrt 2: (2*0.75 + 1*0 + sqrt2*0.75) / (3 + sqrt2)
        = 0.75 (2 + sqrt2) / (3 + sqrt2) = 0.580094...
    F1 = 2 * 0.580094 * 0.75 / (0.580094 + 0.75) = 0.654195...
    """
    y = _flags(20, (2, 5), (12, 13))
    p = _flags(20, (4, 7), (10, 10), (13, 14))
    out = etapr(y, p)
    etap = 0.75 * (2 + math.sqrt(2)) / (3 + math.sqrt(2))
    assert out["eTaR"] == pytest.approx(0.75)
    assert out["eTaP"] == pytest.approx(etap)
    assert out["f1"] == pytest.approx(2 * etap * 0.75 / (etap + 0.75))
    assert out["f1"] == pytest.approx(0.654195, abs=1e-6)
    assert (out["detected_anomalies"], out["correct_predictions"]) == (2, 2)


def test_etapr_pruning_and_the_point_metrics() -> None:
    """A1 = 2..5, A2 = 12..13; alarms P1 = 4..9 (6 rows), P2 = 13..14.

    S[A1,P1] = 2, S[A2,P2] = 1. P1 covers 2/6 < theta_p 0.5 of itself with anomaly: its column is
    pruned, so A1's sum drops to 0 (not detected). A2 keeps 1/2, P2 keeps 1/2.
    eTaR = mean(0, (1 + 0.5)/2) = 0.375. eTaP = (sqrt6*0 + sqrt2*(1 + 0.5)/2) / (sqrt6 + sqrt2)
    = 0.274519...; F1 = 2 * 0.274519 * 0.375 / 0.649519 = 0.316987...
    Point-wise: 6 labelled rows, 8 alarms, 3 in common ({4, 5, 13}): P 3/8, R 1/2, F1 3/7.
    Point-adjusted: both segments hold an alarm, so 2..5 and 12..13 count whole: 11 alarms,
    6 in common: P 6/11, R 1, F1 12/17.
    """
    y = _flags(20, (2, 5), (12, 13))
    p = _flags(20, (4, 9), (13, 14))
    out = etapr(y, p)
    etap = math.sqrt(2) * 0.75 / (math.sqrt(6) + math.sqrt(2))
    assert out["eTaR"] == pytest.approx(0.375)
    assert out["eTaP"] == pytest.approx(etap)
    assert out["f1"] == pytest.approx(0.316987, abs=1e-6)
    assert out["detected_anomalies"] == 1
    assert pointwise(y, p)["f1"] == pytest.approx(3 / 7)
    assert point_adjusted(y, p)["f1"] == pytest.approx(12 / 17)


def test_etapr_ambiguous_section_credits_late_alarms() -> None:
    """A = rows 0..9, delta 0.5: the ambiguous section is rows 10..14 (int(0.5 * 9) = 4 past 10),
    weights 1/(1 + e^v) for v = -6, -3, 0, 3, 6. An alarm on rows 10..11 earns
    1/(1+e^-6) + 1/(1+e^-3) = 0.997527 + 0.952574 = 1.950101.
    eTaR = (1 + 1.950101/10)/2 = 0.597505; eTaP = (1 + 1.950101/2)/2 = 0.987525.
    Without delta the alarm lies outside every anomaly and everything is 0."""
    y = _flags(30, (0, 9))
    p = _flags(30, (10, 11))
    credit = 1 / (1 + math.exp(-6)) + 1 / (1 + math.exp(-3))
    out = etapr(y, p, delta=0.5)
    assert out["eTaR"] == pytest.approx((1 + credit / 10) / 2)
    assert out["eTaP"] == pytest.approx((1 + credit / 2) / 2)
    assert etapr(y, p)["f1"] == 0.0


def test_degenerate_inputs() -> None:
    y = _flags(10, (2, 3))
    assert etapr(y, np.zeros(10, bool))["f1"] == 0.0
    assert etapr(np.zeros(10, bool), y)["f1"] == 0.0
    assert etapr(y, y)["f1"] == pytest.approx(1.0)
    assert summary(y, y)["pa_f1"] == 1.0
    with pytest.raises(ValueError):
        etapr(y, y, theta_p=1.5)
