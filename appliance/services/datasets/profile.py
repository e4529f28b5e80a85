"""Column profiles: types, nulls, distinct counts, ranges, quantiles, top values and a semantic type.

The semantic type comes from the mock engine's schema inference (the generator it would pick to
mimic the column), so "profile" and "infer a schema to mock at scale" never disagree. Numeric columns
also carry a histogram (equal-width bins), which the web UI draws. Values quoted
in a profile (min, max, top values) are clipped to `VALUE_CHARS` characters: a profile describes
columns, and one 256 KiB cell quoted seven times per column would make it megabytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from appliance.services.datasets.preview import jsonable
from appliance.services.mock import infer_schema

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
TOP_VALUES = 5
HISTOGRAM_BINS = 20
VALUE_CHARS = 200
_SEMANTIC = {
    "email": "email",
    "uuid": "id",
    "first_name": "person_name",
    "last_name": "person_name",
    "full_name": "person_name",
    "name": "person_name",
    "phone": "phone",
    "address": "address",
    "street": "address",
    "city": "address",
    "country": "country",
    "company": "company",
    "pattern": "code",
    "category": "category",
    "foreign_key": "id",
}


def _semantic(column: dict[str, Any], arrow_type: pa.DataType) -> str:
    generator = column.get("generator", "")
    if generator == "sequence" and column.get("type") == "int":
        return "id"
    if generator in _SEMANTIC:
        return _SEMANTIC[generator]
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return "numeric"
    return "text"


def _quote(value: Any) -> Any:
    """A cell value as the profile quotes it: JSON-ready, long text clipped with a trailing "…"."""
    out = jsonable(value)
    if isinstance(out, str) and len(out) > VALUE_CHARS:
        return out[:VALUE_CHARS] + "…"
    return out


def _column(arr: pa.ChunkedArray, inferred: dict[str, Any]) -> dict[str, Any]:
    nulls = arr.null_count
    out: dict[str, Any] = {
        "type": str(arr.type),
        "nulls": nulls,
        "null_rate": nulls / len(arr) if len(arr) else 0.0,
        "distinct": pc.count_distinct(arr).as_py(),
        "semantic_type": _semantic(inferred, arr.type),
    }
    valid = arr.drop_null() if nulls else arr
    orderable = pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_temporal(arr.type)
    if len(valid) and (orderable or pa.types.is_string(arr.type)):
        extremes = pc.min_max(valid)
        out["min"], out["max"] = _quote(extremes["min"].as_py()), _quote(extremes["max"].as_py())
    if len(valid) and (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)):
        values = pc.quantile(valid, q=list(QUANTILES)).to_pylist()
        out["quantiles"] = {f"p{round(q * 100):02d}": jsonable(v) for q, v in zip(QUANTILES, values, strict=True)}
        out["mean"] = jsonable(pc.mean(valid).as_py())
        out["histogram"] = histogram(valid)
    counts = pc.value_counts(valid).to_pylist() if len(valid) else []
    counts.sort(key=lambda item: (-item["counts"], str(item["values"])))
    out["top_values"] = [{"value": _quote(c["values"]), "count": c["counts"]} for c in counts[:TOP_VALUES]]
    return out


def histogram(values: pa.ChunkedArray | pa.Array, bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    """Counts in ``bins`` equal-width bins from the minimum to the maximum (NaN left out), so a
    page can draw each numeric column's shape without reading the dataset again."""
    data = np.asarray(values.to_numpy(zero_copy_only=False), dtype="float64")
    data = data[np.isfinite(data)]
    if not len(data):
        return {"edges": [], "counts": []}
    low, high = float(data.min()), float(data.max())
    counts, edges = np.histogram(data, bins=bins if high > low else 1, range=(low, high) if high > low else None)
    return {"edges": [jsonable(float(e)) for e in edges], "counts": [int(c) for c in counts]}


def profile(table: pa.Table, name: str = "dataset") -> dict[str, Any]:
    """The profile of ``table`` plus the mock schema inferred from it (editable, to mock at scale)."""
    schema = infer_schema(table)
    inferred = {c["name"]: c for c in schema["tables"][0]["columns"]} if schema.get("tables") else {}
    columns = [
        {"name": field.name, **_column(table.column(field.name), inferred.get(field.name, {}))}
        for field in table.schema
    ]
    return {"rows": table.num_rows, "columns": columns, "inferred_schema": schema}
