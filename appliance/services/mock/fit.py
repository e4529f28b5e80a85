"""``fit_stats`` and ``compare_fits``: compact summaries of a table, and distances between two.

A fit is stored next to a dataset's seal and later compared with a synthetic set, possibly on
another machine, so it must be small and self-contained: per-column moments, 101 quantiles,
top category frequencies and the numeric correlation matrix. Distances are computed from the
summaries alone (KS from quantiles, total variation from frequencies).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from .tabular import as_arrow, kind, numbers, plain

TOP_CATEGORIES = 100
OTHER = "__other__"
QUANTILES = np.linspace(0.0, 1.0, 101)


def _clean(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


def _numeric(arr: pa.Array) -> dict[str, Any]:
    x = numbers(arr)
    if x.size == 0:
        return {"count": 0}
    out: dict[str, Any] = {
        "count": int(x.size),
        "mean": float(x.mean()),
        "std": float(x.std()),
        "min": float(x.min()),
        "max": float(x.max()),
        "quantiles": [float(v) for v in np.quantile(x, QUANTILES)],
    }
    if x.size > 2 and out["std"] > 0:
        out["skew"] = _clean(float(stats.skew(x)))
        out["kurtosis"] = _clean(float(stats.kurtosis(x)))
    return out


def _categorical(arr: pa.Array) -> dict[str, Any]:
    values = pc.drop_null(arr)
    if pa.types.is_boolean(values.type):
        values = values.cast(pa.string())
    counts = pc.value_counts(values)
    names = [str(v) for v in counts.field("values").to_pylist()]
    freq = counts.field("counts").to_numpy().astype(np.float64)
    total = float(freq.sum())
    order = sorted(range(len(names)), key=lambda i: (-freq[i], names[i]))
    top = order[:TOP_CATEGORIES]
    frequencies = {names[i]: freq[i] / total for i in top} if total else {}
    rest = 1.0 - sum(frequencies.values()) if total else 0.0
    if len(order) > TOP_CATEGORIES:
        frequencies[OTHER] = max(rest, 0.0)
    return {"count": int(total), "distinct": len(names), "frequencies": frequencies}


def fit_stats(table: Any) -> dict[str, Any]:
    """Summary statistics of a ``pyarrow.Table`` or pandas DataFrame (JSON-ready)."""
    data = as_arrow(table)
    columns: dict[str, Any] = {}
    numeric: dict[str, np.ndarray] = {}
    for field, chunked in zip(data.schema, data.columns, strict=True):
        arr = plain(chunked)
        ctype = kind(arr.type)
        null_rate = arr.null_count / len(arr) if len(arr) else 0.0
        if ctype in ("int", "float", "date", "time", "timestamp"):
            entry = {"kind": "temporal" if ctype in ("date", "time", "timestamp") else "numeric", "type": ctype,
                     "null_rate": null_rate, **_numeric(arr)}
            if ctype in ("int", "float"):
                numeric[field.name] = arr.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
        else:
            entry = {"kind": "categorical", "type": ctype, "null_rate": null_rate, **_categorical(arr)}
        columns[field.name] = entry
    out: dict[str, Any] = {"rows": data.num_rows, "columns": columns}
    names = list(numeric)
    if len(names) >= 2:
        import pandas as pd

        corr = pd.DataFrame(numeric).corr().to_numpy()
        out["correlation"] = {"columns": names,
                              "matrix": [[_clean(v) for v in row] for row in corr.tolist()]}
    return out


def _ks(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    """Kolmogorov–Smirnov distance between two empirical CDFs known by their 101 quantiles."""
    if "quantiles" not in a or "quantiles" not in b:
        return None
    qa, qb = np.asarray(a["quantiles"]), np.asarray(b["quantiles"])
    points = np.union1d(qa, qb)
    fa = np.searchsorted(qa, points, side="right") / qa.size
    fb = np.searchsorted(qb, points, side="right") / qb.size
    return float(np.abs(fa - fb).max())


def _tvd(a: dict[str, Any], b: dict[str, Any]) -> float:
    fa, fb = a.get("frequencies", {}), b.get("frequencies", {})
    return 0.5 * sum(abs(fa.get(k, 0.0) - fb.get(k, 0.0)) for k in set(fa) | set(fb))


def _correlation_diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    ca, cb = a.get("correlation"), b.get("correlation")
    if not ca or not cb:
        return None
    common = [n for n in ca["columns"] if n in cb["columns"]]
    if len(common) < 2:
        return None
    ia = [ca["columns"].index(n) for n in common]
    ib = [cb["columns"].index(n) for n in common]
    ma = np.array(ca["matrix"], dtype=np.float64)[np.ix_(ia, ia)]
    mb = np.array(cb["matrix"], dtype=np.float64)[np.ix_(ib, ib)]
    diff = np.abs(np.nan_to_num(ma) - np.nan_to_num(mb))[~np.eye(len(common), dtype=bool)]
    return {"columns": common, "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean())}


def compare_fits(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Per-column distances between two fits (``a`` the reference, ``b`` the candidate).

    Numeric and temporal columns get the KS statistic, categorical ones the total variation
    distance; both lie in [0, 1], 0 meaning identical summaries.
    """
    ca, cb = a["columns"], b["columns"]
    columns: dict[str, Any] = {}
    for name, sa in ca.items():
        sb = cb.get(name)
        if sb is None:
            continue
        entry: dict[str, Any] = {"kind": sa["kind"], "null_rate_diff": abs(sa["null_rate"] - sb["null_rate"])}
        if sa["kind"] != sb["kind"]:
            entry["error"] = f"kind differs: {sa['kind']} vs {sb['kind']}"
        elif sa["kind"] == "categorical":
            entry["tvd"] = _tvd(sa, sb)
            entry["high_cardinality"] = max(sa.get("distinct", 0), sb.get("distinct", 0)) > TOP_CATEGORIES
        else:
            entry["ks"] = _ks(sa, sb)
            if "mean" in sa and "mean" in sb:
                entry["mean_diff"] = sb["mean"] - sa["mean"]
                entry["std_ratio"] = sb["std"] / sa["std"] if sa["std"] else None
        columns[name] = entry
    distances = [e.get("ks", e.get("tvd")) for e in columns.values()]
    scored = [d for d in distances if d is not None]
    worst = max(columns, key=lambda n: columns[n].get("ks", columns[n].get("tvd")) or 0.0) if scored else None
    return {
        "columns": columns,
        "missing_in_b": [n for n in ca if n not in cb],
        "extra_in_b": [n for n in cb if n not in ca],
        "correlation": _correlation_diff(a, b),
        "summary": {"mean_distance": float(np.mean(scored)) if scored else None, "worst_column": worst,
                    "rows_a": a.get("rows"), "rows_b": b.get("rows")},
    }
