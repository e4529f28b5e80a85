"""``infer_schema``: a mock schema that imitates a real table.

It reads types, ranges, category weights, null rates, semantic types (e-mail, UUID, ids,
timestamps in text) and the correlation matrix of numeric columns, and returns a schema dict that
``validate_schema`` accepts, so a user can start from their own data and edit from there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from . import infer_text, patterns
from .tabular import as_arrow, kind, numbers, plain
from .validate import validate_schema

MAX_CATEGORIES = 50
_EPOCH = dt.datetime(1970, 1, 1)


def _iso(value: float, ctype: str) -> str:
    if ctype == "date":
        return (_EPOCH.date() + dt.timedelta(days=int(value))).isoformat()
    if ctype == "time":
        s = int(value) % 86_400
        return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return (_EPOCH + dt.timedelta(seconds=int(value))).isoformat()


def _category(arr: pa.Array, ctype: str) -> dict[str, Any] | None:
    counts = pc.value_counts(pc.drop_null(arr))
    if len(counts) == 0 or len(counts) > MAX_CATEGORIES or len(counts) * 2 > len(arr):
        return None
    values = counts.field("values").to_pylist()
    freq = counts.field("counts").to_numpy()
    order = sorted(range(len(values)), key=lambda i: (-freq[i], str(values[i])))
    cats = [values[i] for i in order]
    if ctype in ("date", "time", "timestamp"):
        cats = [_iso(v, ctype) for v in numbers(pa.array(cats, type=arr.type))]
    return {"generator": "category", "categories": cats,
            "weights": [round(float(freq[i]) / float(freq.sum()), 6) for i in order]}


def _distribution(x: np.ndarray, integer: bool) -> dict[str, Any]:
    lo, hi = float(x.min()), float(x.max())
    if integer:
        lo, hi = int(lo), int(hi)
    std = float(x.std())
    if std == 0 or x.size < 3:
        return {"generator": "uniform", "min": lo, "max": hi}
    skew, kurt = float(stats.skew(x)), float(stats.kurtosis(x))
    if abs(skew) < 0.3 and kurt < -0.9:
        return {"generator": "uniform", "min": lo, "max": hi}
    if skew > 1.0 and lo > 0:
        logs = np.log(x)
        return {"generator": "lognormal", "mu": round(float(logs.mean()), 6),
                "sigma": round(max(float(logs.std()), 1e-6), 6), "min": lo, "max": hi}
    return {"generator": "normal", "mean": round(float(x.mean()), 6), "std": round(std, 6), "min": lo, "max": hi}


def _decimals(x: np.ndarray) -> int | None:
    sample = x[:10_000]
    for d in range(7):
        if np.allclose(sample, np.round(sample, d), rtol=0, atol=1e-9):
            return d
    return None


def _regular(x: np.ndarray) -> int | None:
    """The step if values are strictly increasing by a constant (an id or a time series)."""
    if x.size < 2:
        return None
    steps = np.diff(x)
    return int(steps[0]) if steps[0] != 0 and np.all(steps == steps[0]) else None


def _numeric_or_temporal(arr: pa.Array, ctype: str, unique: bool) -> dict[str, Any]:
    if ctype == "float":  # NaN and ±inf are no value to imitate, and a schema only holds finite numbers
        arr = pc.filter(arr, pc.is_finite(arr))
    x = numbers(arr)
    if x.size == 0:
        return {"generator": "constant", "value": 0} if ctype in ("int", "float") else _empty_temporal(ctype)
    step = _regular(x) if ctype in ("int", "date", "timestamp") else None
    if step is not None and arr.null_count == 0:
        start: Any = int(x[0]) if ctype == "int" else _iso(x[0], ctype)
        return {"generator": "sequence", "start": start, "step": step, "unique": True}
    if ctype in ("date", "time", "timestamp"):
        return {"generator": "uniform", "min": _iso(x.min(), ctype), "max": _iso(x.max(), ctype)}
    if unique and ctype == "int" and arr.null_count == 0:
        return {"generator": "uniform", "min": int(x.min()), "max": int(x.max()), "unique": True}
    category = _category(arr, ctype)
    if category is not None:
        return category
    spec = _distribution(x, ctype == "int")
    decimals = _decimals(x) if ctype == "float" else None
    if decimals is not None:
        spec["decimals"] = decimals
    return spec


def _empty_temporal(ctype: str) -> dict[str, Any]:
    edge = _iso(0, ctype)
    return {"generator": "uniform", "min": edge, "max": edge}


def _text(arr: pa.Array, unique: bool) -> tuple[str, dict[str, Any]]:
    values = pc.drop_null(arr)
    sample = values.slice(0, infer_text.SAMPLE).to_pylist()
    when = infer_text.temporal_kind(sample)
    if when is not None:
        try:
            stamps = pd.to_datetime(pd.Series(values.to_pylist()), utc=True, format="ISO8601")
        except (ValueError, TypeError):
            stamps = None
        if stamps is not None:
            parsed = pa.array(stamps.dt.tz_convert(None).astype("datetime64[us]"))
            arr2 = parsed.cast(pa.date32()) if when == "date" else parsed
            return when, _numeric_or_temporal(arr2, when, unique)
    category = _category(arr, "string")
    if category is not None:
        return "string", category
    spec = infer_text.text_generator(sample, unique)
    if spec["generator"] in ("pattern", "phone"):
        try:
            atoms = patterns.parse(spec["pattern"])
        except patterns.PatternError:
            return "string", {"generator": "words"}
        if unique and spec["generator"] == "pattern" and patterns.is_fixed(atoms) \
                and patterns.space_size(atoms) >= len(arr):
            spec["unique"] = True
    elif unique and spec["generator"] in ("uuid", "email"):
        spec["unique"] = True
    return "string", spec


def _correlations(table: pa.Table, cols: list[dict[str, Any]]) -> dict[str, Any] | None:
    names = [c["name"] for c in cols if c["type"] in ("int", "float") and not c.get("unique")
             and c["generator"] in ("uniform", "normal", "lognormal")]
    if len(names) < 2:
        return None
    frame = table.select(names).to_pandas()
    corr = frame.astype("float64").corr().fillna(0.0).to_numpy()
    np.fill_diagonal(corr, 1.0)
    off = corr[~np.eye(len(names), dtype=bool)]
    if np.abs(off).max() < 0.05:
        return None
    for shrink in np.linspace(0.0, 0.5, 11):
        candidate = np.round((1 - shrink) * corr + shrink * np.eye(len(names)), 3)
        if np.linalg.eigvalsh(candidate).min() > 1e-3:
            return {"columns": names, "matrix": candidate.tolist()}
    return None


def infer_schema(table: Any, name: str = "data") -> dict[str, Any]:
    """A schema dict (one table named ``name``, same row count) imitating ``table``.

    ``table`` is a ``pyarrow.Table`` or a pandas DataFrame. The result passes ``validate_schema``.
    """
    data = as_arrow(table)
    rows = data.num_rows
    columns: list[dict[str, Any]] = []
    for field, chunked in zip(data.schema, data.columns, strict=True):
        arr = plain(chunked)
        ctype = kind(arr.type)
        non_null = len(arr) - arr.null_count
        unique = non_null > 0 and pc.count_distinct(arr).as_py() == non_null and arr.null_count == 0
        if ctype == "bool":
            x = numbers(arr)
            spec: dict[str, Any] = {"generator": "bernoulli", "p": round(float(x.mean()) if x.size else 0.5, 6)}
        elif ctype == "string":
            ctype, spec = _text(arr, unique)
        else:
            spec = _numeric_or_temporal(arr, ctype, unique)
        column = {"name": str(field.name), "type": ctype, **spec}
        if arr.null_count:
            column["nullable"] = round(arr.null_count / max(len(arr), 1), 6)
        columns.append(column)
    out_table: dict[str, Any] = {"name": name, "rows": rows, "columns": columns}
    corr = _correlations(data, columns)
    if corr is not None:
        out_table["correlations"] = corr
    schema = {"tables": [out_table]}
    validate_schema(schema)
    return schema
