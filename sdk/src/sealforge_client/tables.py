"""Tables in and out of pandas, by file name. pandas (and pyarrow for Parquet) come with the
``dataframe`` extra (``pip install ./sdk[dataframe]``); they are imported only when a table is read
or written, so the client itself needs httpx alone."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

TABLE_SUFFIXES = (".parquet", ".csv", ".jsonl")


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError as exc:  # the one place the optional dependency is needed
        raise ImportError("reading tables needs pandas: pip install 'sealforge-client[dataframe]'") from exc
    return pd


def table_format(name: str | Path) -> str | None:
    """``parquet``, ``csv`` or ``jsonl`` from a file name's suffix; None for anything else."""
    suffix = Path(name).suffix.lower()
    return suffix[1:] if suffix in TABLE_SUFFIXES else None


def read_table_bytes(name: str, data: bytes) -> Any:
    """A DataFrame from an artifact's bytes; the format is the artifact name's suffix."""
    pd = _pandas()
    fmt = table_format(name)
    if fmt == "parquet":
        return pd.read_parquet(io.BytesIO(data))
    if fmt == "csv":
        return pd.read_csv(io.BytesIO(data))
    return pd.read_json(io.BytesIO(data), lines=True)


def write_table(frame: Any, path: str | Path) -> Path:
    """Write a DataFrame as CSV or Parquet, chosen by ``path``'s suffix (.csv, .parquet; .jsonl too)."""
    target = Path(path)
    fmt = table_format(target)
    if fmt == "parquet":
        frame.to_parquet(target, index=False)
    elif fmt == "csv":
        frame.to_csv(target, index=False)
    elif fmt == "jsonl":
        frame.to_json(target, orient="records", lines=True)
    else:
        raise ValueError(f"{target.name}: say the format with the suffix .csv or .parquet (or .jsonl)")
    return target
