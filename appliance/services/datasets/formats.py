"""Recognising and reading the dataset formats: CSV, TSV, Parquet and JSON Lines.

Parsing is pyarrow's, streamed batch by batch, so checking a 1 GB file costs time, not memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from appliance.services.datasets.naming import FORMATS, MEDIA_TYPES, FormatError, declared_format

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "FormatError",
    "batches",
    "check_content",
    "declared_format",
    "read_all",
    "read_head",
]

PARQUET_MAGIC = b"PAR1"
BLOCK_BYTES = 4 << 20


def sniff_is_parquet(path: Path) -> bool:
    size = path.stat().st_size
    if size < 12:
        return False
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(-4, 2)
        tail = fh.read(4)
    return head == PARQUET_MAGIC and tail == PARQUET_MAGIC


def batches(path: Path, fmt: str) -> Iterator[pa.RecordBatch]:
    """Stream the file as record batches; parse errors become ``FormatError``."""
    try:
        if fmt == "parquet":
            yield from pq.ParquetFile(path).iter_batches(batch_size=65_536)
            return
        if fmt == "jsonl":
            reader = pa_json.open_json(path, read_options=pa_json.ReadOptions(block_size=BLOCK_BYTES))
        else:
            parse = pa_csv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",")
            reader = pa_csv.open_csv(path, read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES), parse_options=parse)
        yield from reader
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        raise FormatError(_plain(str(exc), fmt)) from exc


def _plain(message: str, fmt: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "unreadable"
    return f"not a valid {fmt.upper()} file: {first}"


def read_head(path: Path, fmt: str, rows: int) -> pa.Table:
    """The first ``rows`` rows, reading no more batches than needed."""
    taken: list[pa.RecordBatch] = []
    count = 0
    for batch in batches(path, fmt):
        taken.append(batch.slice(0, rows - count))
        count += taken[-1].num_rows
        if count >= rows:
            break
    if not taken:
        raise FormatError("the file holds no rows")
    return pa.Table.from_batches(taken)


def read_all(path: Path, fmt: str, max_rows: int | None = None) -> pa.Table:
    """The whole table (or its first ``max_rows`` rows) for profiling and fitting."""
    if max_rows is not None:
        return read_head(path, fmt, max_rows)
    return pa.Table.from_batches(list(batches(path, fmt)))


def check_content(path: Path, fmt: str) -> tuple[int, list[dict[str, str]]]:
    """Parse the whole file; returns (rows, columns) or raises FormatError."""
    is_parquet = sniff_is_parquet(path)
    if fmt == "parquet" and not is_parquet:
        raise FormatError("named as Parquet, but the content is not a Parquet file (no PAR1 markers)")
    if fmt != "parquet" and is_parquet:
        raise FormatError(f"named as {fmt.upper()}, but the content is a Parquet file")
    rows = 0
    schema: pa.Schema | None = None
    for batch in batches(path, fmt):
        rows += batch.num_rows
        schema = batch.schema
    if schema is None or (rows == 0 and fmt != "parquet"):
        raise FormatError("the file holds no rows")
    binary = [f.name for f in schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
    if binary and fmt != "parquet":
        raise FormatError(f"column(s) {', '.join(binary)} are not valid UTF-8 text; re-save the file as UTF-8")
    if len(set(schema.names)) != len(schema.names):
        raise FormatError("column names repeat; each column needs its own name")
    return rows, [{"name": f.name, "type": str(f.type)} for f in schema]
