"""Accept real data as an Arrow table or a pandas DataFrame, and classify its columns.

``infer_schema`` and ``fit_stats`` both read user uploads; this is the one place that decides
what counts as numeric, temporal or categorical, so the two always agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def as_arrow(table: Any) -> pa.Table:
    """A ``pyarrow.Table`` from an Arrow table, a record batch or a pandas DataFrame."""
    if isinstance(table, pa.Table):
        return table
    if isinstance(table, pa.RecordBatch):
        return pa.Table.from_batches([table])
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency of the appliance
        pd = None
    if pd is not None and isinstance(table, pd.DataFrame):
        return pa.Table.from_pandas(table, preserve_index=False)
    raise TypeError(f"expected a pyarrow.Table or pandas.DataFrame, got {type(table).__name__}")


def plain(arr: pa.ChunkedArray) -> pa.Array:
    """One contiguous array; dictionaries decoded, large strings narrowed, decimals as float."""
    out = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    t = out.type
    if pa.types.is_dictionary(t):
        out = out.dictionary_decode()
        t = out.type
    if pa.types.is_large_string(t):
        out = out.cast(pa.string())
    elif pa.types.is_decimal(t):
        out = out.cast(pa.float64())
    elif pa.types.is_timestamp(t) and t.tz is not None:
        out = out.cast(pa.timestamp(t.unit))
    return out


def kind(t: pa.DataType) -> str:
    """``int``, ``float``, ``bool``, ``date``, ``time``, ``timestamp`` or ``string``."""
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_time(t):
        return "time"
    if pa.types.is_timestamp(t):
        return "timestamp"
    return "string"


def numbers(arr: pa.Array) -> np.ndarray:
    """Non-null values as float64; temporals in days (date) or seconds (time, timestamp)."""
    values = pc.drop_null(arr)
    t = values.type
    if pa.types.is_date(t):
        return values.cast(pa.date32()).cast(pa.int32()).to_numpy().astype(np.float64)
    if pa.types.is_timestamp(t):
        return values.cast(pa.timestamp("us")).cast(pa.int64()).to_numpy().astype(np.float64) / 1e6
    if pa.types.is_time(t):
        return values.cast(pa.time64("us")).cast(pa.int64()).to_numpy().astype(np.float64) / 1e6
    if pa.types.is_boolean(t):
        return values.cast(pa.int8()).to_numpy().astype(np.float64)
    return values.cast(pa.float64()).to_numpy()
