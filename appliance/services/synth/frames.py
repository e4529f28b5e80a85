"""Moving tables between Arrow (how datasets are read and rows are written) and pandas (what SDV,
sdmetrics and scikit-learn take), with the dtype fixes each side needs.

Arrow dates become ``datetime64`` (not Python ``date`` objects, which SDV would call categorical),
time zones are dropped to UTC wall time (SDV handles naive timestamps only), decimals become floats,
and dictionary columns become plain strings (SDV rejects pandas ``category``). What each date or
timestamp column was in Arrow is noted in ``frame.attrs["temporal"]`` (``{"kind": "date"}`` or
``{"kind": "timestamp", "unit": ..., "tz": ...}``), so synthetic rows can be written back with the
same type, unit and time zone (see ``datetimes``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd


class UnsupportedColumn(ValueError):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"{column}: {message}")
        self.column = column
        self.message = message


def _plain_type(name: str, kind: pa.DataType) -> pa.DataType | None:
    """The Arrow type to cast a column to before pandas sees it; None keeps it."""
    if pa.types.is_dictionary(kind):
        return _plain_type(name, kind.value_type) or kind.value_type
    if pa.types.is_decimal(kind):
        return pa.float64()
    if pa.types.is_date(kind):
        return pa.timestamp("ms")
    if pa.types.is_timestamp(kind):
        return pa.timestamp(kind.unit) if kind.tz else None
    if pa.types.is_time(kind) or pa.types.is_duration(kind):
        return pa.string()
    if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        raise UnsupportedColumn(name, f"type {kind} cannot be synthesized; drop the column or flatten it")
    return None


def temporal_types(table: pa.Table) -> dict[str, dict[str, str | None]]:
    """How each date or timestamp column is typed in Arrow (the dictionary's value type for a
    dictionary column)."""
    out: dict[str, dict[str, str | None]] = {}
    for field in table.schema:
        kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if pa.types.is_date(kind):
            out[field.name] = {"kind": "date"}
        elif pa.types.is_timestamp(kind):
            out[field.name] = {"kind": "timestamp", "unit": kind.unit, "tz": kind.tz}
    return out


def to_frame(table: pa.Table) -> pd.DataFrame:
    """The dataset as a DataFrame that SDV accepts."""
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        target = _plain_type(name, column.type)
        columns.append(column.cast(target) if target is not None else column)
    plain = pa.table(columns, names=table.column_names)
    frame = plain.to_pandas(date_as_object=False, timestamp_as_object=False)
    frame.attrs["temporal"] = temporal_types(table)
    return frame


def to_arrow(frame: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """One chunk of rows as Arrow; with ``schema`` (the first chunk's) every chunk has the same
    types, so a column that happens to have no nulls in one chunk is not typed differently."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if schema is None:
        return table.replace_schema_metadata(None)
    return table.replace_schema_metadata(None).cast(schema)
