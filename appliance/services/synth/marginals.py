"""Each numerical column's marginal for GaussianCopula, chosen by goodness of fit on the data.

SDV fits every numerical column with one distribution (``beta``); on a skewed or zero-inflated
column (capital gains: mostly 0, a long tail) that fit can fail or miss the shape entirely, and the
sampled column then looks nothing like the real one. ``choose`` fits each of SDV's parametric
candidates to a fixed sample of the column and keeps the one whose output, clipped to the column's
range and rounded like SDV does, is closest to the data by the Kolmogorov-Smirnov statistic.
Deterministic (fixed sample, quantile grid instead of random draws): same data, same choice.

Zero-inflated columns (at least ``ZERO_SHARE`` zeros: capital gains, a pump's flow while it is off)
get a mixture marginal instead: a point mass at 0 plus a continuous part. No single parametric
family fits such a column, and the copula's normal scores cannot put 92 % of the rows on one value.
``split_zeros`` gives the model a categorical indicator column (zero or not, correlated with the
other columns through the copula) and the column's non-zero values (its zero rows filled with a
seeded resample of the non-zero ones, so the continuous part is fitted on the non-zero distribution
alone); ``join_zeros`` puts the zeros back where the indicator says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd

from appliance.services.synth.metadata import TableMetadata

# SDV's default first: another candidate replaces it only when it fits strictly better.
CANDIDATES = ("beta", "truncnorm", "gamma", "norm", "uniform")
SAMPLE_ROWS = 5000
ZERO_SHARE = 0.5
MIN_NON_ZERO = 10
ZERO_PREFIX = "__zero__"
ZERO, VALUE = "zero", "value"


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


def zero_inflated(data: pd.DataFrame, metadata: TableMetadata) -> list[str]:
    """Numerical columns with at least ``ZERO_SHARE`` zeros and enough distinct non-zero values to
    fit a continuous part (columns with missing values are left to SDV's own null handling)."""
    out = []
    for name, sdtype in metadata.sdtypes().items():
        if sdtype != "numerical" or name not in data.columns:
            continue
        column = data[name]
        if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column) or column.isna().any():
            continue
        non_zero = column[column != 0]
        share = (column == 0).mean() if len(column) else 0.0
        if share >= ZERO_SHARE and len(non_zero) >= MIN_NON_ZERO and non_zero.nunique() >= 2:
            out.append(name)
    return out


def split_zeros(data: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The frame the model fits: each column's indicator added, its zeros refilled (seeded)."""
    if not columns:
        return data
    data = data.copy()
    rng = np.random.default_rng(0)
    for name in columns:
        zero = (data[name] == 0).to_numpy()
        non_zero = data.loc[~zero, name].to_numpy()
        data[ZERO_PREFIX + name] = np.where(zero, ZERO, VALUE)
        data.loc[zero, name] = rng.choice(non_zero, int(zero.sum()), replace=True)
    return data


def join_zeros(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Sampled rows with the zeros put back and the indicator columns dropped."""
    if not columns:
        return frame
    frame = frame.copy()
    for name in columns:
        flag = ZERO_PREFIX + name
        if flag in frame.columns:
            frame.loc[(frame[flag] == ZERO).to_numpy(), name] = 0
            frame = frame.drop(columns=[flag])
    return frame


def zero_conditions(conditions: dict[str, Any] | None, columns: list[str]) -> dict[str, Any] | None:
    """Sampling conditions in the model's columns: a zero-inflated column fixed at 0 fixes its
    indicator; at another value, the indicator says "value" too."""
    if not conditions or not columns:
        return conditions
    out = dict(conditions)
    for name in columns:
        if name in out:
            if out[name] == 0:
                out.pop(name)
                out[ZERO_PREFIX + name] = ZERO
            else:
                out[ZERO_PREFIX + name] = VALUE
    return out


def mixture_metadata(metadata: TableMetadata, columns: list[str], data: pd.DataFrame) -> TableMetadata:
    """The metadata the model fits with: indicator columns categorical, ranges from the non-zero part."""
    if not columns:
        return metadata
    model = TableMetadata.from_json(metadata.to_json())
    for name in columns:
        model.columns[ZERO_PREFIX + name] = {"sdtype": "categorical"}
        spec = model.columns[name]
        if "range_min" in spec:
            spec["range_min"] = _plain_number(data[name].min())
            spec["range_max"] = _plain_number(data[name].max())
    return model


def _plain_number(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


STEP_DISTINCT = 20
"""Numeric columns with at most this many distinct values are sampled by steps (their values only)."""
MAX_KNOTS = 2000
"""An empirical marginal keeps at most this many order statistics (evenly spaced ranks), so a model
file stays small on a large class while a small table's classes keep every value."""


class EmpiricalMarginal:
    """A column's empirical distribution, with the ``cdf``/``percent_point`` pair copulas'
    ``GaussianMultivariate`` samples through: the marginal of a per-class copula (``stratified``).

    Why: a class holds tens to hundreds of rows, where a parametric family fitted by maximum
    likelihood blurs the very shapes that separate the classes (a threshold on age, a spike at one
    education level) and costs a scipy fit per column and class. The sorted values are the whole
    fit. ``cdf`` is the mid-rank (tied values share the middle of their block, so a point mass maps
    to one normal score); ``percent_point`` interpolates between order statistics on the same
    grid, or, for a ``stepped`` column (categories, few distinct values), returns the order
    statistic itself, so a sampled category is always one the class has. Above ``MAX_KNOTS``
    values it keeps that many order statistics at evenly spaced ranks.
    """

    def __init__(self, values: np.ndarray, stepped: bool) -> None:
        values = np.asarray(values, dtype=float)
        values = np.sort(values[np.isfinite(values)])
        if len(values) > MAX_KNOTS:
            values = values[np.floor((np.arange(MAX_KNOTS) + 0.5) / MAX_KNOTS * len(values)).astype(int)]
        self.sorted = values if len(values) else np.zeros(1)
        self.stepped = stepped

    def cdf(self, values: np.ndarray) -> np.ndarray:
        x = np.asarray(values, dtype=float)
        low = np.searchsorted(self.sorted, x, side="left")
        high = np.searchsorted(self.sorted, x, side="right")
        return np.asarray((low + high) / (2.0 * len(self.sorted)))

    def percent_point(self, quantiles: np.ndarray) -> np.ndarray:
        u = np.asarray(quantiles, dtype=float)
        count = len(self.sorted)
        if self.stepped:
            return np.asarray(self.sorted[np.clip(np.floor(u * count).astype(int), 0, count - 1)])
        return np.asarray(np.interp(u, (np.arange(count) + 0.5) / count, self.sorted))


def empirical_copula(frame: pd.DataFrame, stepped: Collection[str], independent: Collection[str] = ()) -> Any:
    """copulas' ``GaussianMultivariate`` over ``frame`` (numeric, as SDV's data processor writes
    it) with an ``EmpiricalMarginal`` per column and the correlation of the mid-rank normal
    scores: fitted in closed form (a sort per column, one ``corrcoef``). Columns in ``independent``
    keep no correlation (a class column inside its own class carries only encoding noise)."""
    from copulas.multivariate import GaussianMultivariate
    from scipy import stats

    columns = [str(c) for c in frame.columns]
    univariates, scores = [], []
    for name in columns:
        values = frame[name].to_numpy(dtype=float, na_value=np.nan)
        if np.isnan(values).any():
            values = np.where(np.isnan(values), np.nanmedian(values) if (~np.isnan(values)).any() else 0.0, values)
        marginal = EmpiricalMarginal(values, name in stepped or len(np.unique(values)) <= STEP_DISTINCT)
        univariates.append(marginal)
        scores.append(stats.norm.ppf(np.clip(marginal.cdf(values), 1e-6, 1 - 1e-6)))
    if len(frame) > 1 and columns:
        with np.errstate(all="ignore"):
            correlation = np.atleast_2d(np.corrcoef(np.column_stack(scores), rowvar=False))
    else:
        correlation = np.eye(len(columns))
    correlation = np.nan_to_num(correlation, nan=0.0)
    for index, name in enumerate(columns):
        if name in independent:
            correlation[index, :] = correlation[:, index] = 0.0
    np.fill_diagonal(correlation, 1.0)
    model = GaussianMultivariate()
    model.columns, model.univariates = columns, univariates
    model.correlation = pd.DataFrame(correlation, index=columns, columns=columns)
    model.fitted = True
    return model
