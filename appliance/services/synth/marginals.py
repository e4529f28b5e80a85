"""Each numerical column's marginal for GaussianCopula, chosen by goodness of fit on the data.

SDV fits every numerical column with one distribution (``beta``); on a skewed or zero-inflated
column (capital gains: mostly 0, a long tail) that fit can fail or miss the shape entirely, and the
sampled column then looks nothing like the real one. ``choose`` fits each of SDV's parametric
candidates to a fixed sample of the column and keeps the one whose output, clipped to the column's
range and rounded like SDV does, is closest to the data by the Kolmogorov-Smirnov statistic.
Deterministic (fixed sample, quantile grid instead of random draws): same data, same choice.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from appliance.services.synth.metadata import TableMetadata

# SDV's default first: another candidate replaces it only when it fits strictly better.
CANDIDATES = ("beta", "truncnorm", "gamma", "norm", "uniform")
SAMPLE_ROWS = 5000


def _univariates() -> dict[str, Any]:
    from copulas import univariate

    return {
        "beta": univariate.BetaUnivariate,
        "truncnorm": univariate.TruncatedGaussian,
        "gamma": univariate.GammaUnivariate,
        "norm": univariate.GaussianUnivariate,
        "uniform": univariate.UniformUnivariate,
    }


def _distance(values: np.ndarray, fitted: Any, integer: bool) -> float:
    from scipy import stats

    grid = (np.arange(len(values)) + 0.5) / len(values)
    out = np.asarray(fitted.percent_point(grid), dtype=float)
    if not np.all(np.isfinite(out)):
        return float("inf")
    out = np.clip(out, values.min(), values.max())
    if integer:
        out = np.round(out)
    return float(stats.ks_2samp(values, out).statistic)


def best_fit(column: pd.Series) -> str | None:
    """The candidate that fits ``column`` best, or None when there is nothing to choose on."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    values = values[np.isfinite(values)]
    if len(values) < 10 or values.min() == values.max():
        return None
    if len(values) > SAMPLE_ROWS:
        values = np.random.default_rng(0).choice(values, SAMPLE_ROWS, replace=False)
    integer = bool(np.all(values == np.round(values)))
    best, best_distance = None, float("inf")
    classes = _univariates()
    for name in CANDIDATES:
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                fitted = classes[name]()
                fitted.fit(values)
                distance = _distance(values, fitted, integer)
        except Exception:  # a candidate that cannot fit this column is just not chosen
            continue
        if distance < best_distance:
            best, best_distance = name, distance
    return best


def choose(data: pd.DataFrame, metadata: TableMetadata) -> dict[str, str]:
    """``{column: distribution}`` for SDV's ``numerical_distributions``, numerical columns only."""
    chosen: dict[str, str] = {}
    for name, sdtype in metadata.sdtypes().items():
        if sdtype != "numerical" or name not in data.columns:
            continue
        column = data[name]
        if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
            continue
        best = best_fit(column)
        if best is not None:
            chosen[name] = best
    return chosen
