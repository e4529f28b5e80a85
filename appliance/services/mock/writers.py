"""Stream batches to Parquet, CSV or JSON Lines with byte-stable output.

Byte-identical reruns need a layout that ignores how the rows were batched: Parquet row groups are
re-cut to a fixed size, compression and options are pinned, and text formats are rendered row by
row. Files are written under a temporary name, fsynced and renamed, so a crash or a cancel never
leaves a half-written file under the real name.
"""

from __future__ import annotations

import json
import queue
import threading
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from appliance.fsutil import publish

MOCK_FORMATS = {"parquet": "parquet", "csv": "csv", "jsonl": "jsonl"}  # output format -> file extension
ROW_GROUP_ROWS = 65_536
_JSON_SLICE = 65_536
"""JSON Lines are built per slice so one slice's text stays far below Arrow's 2 GiB string limit."""
PARQUET_OPTIONS = {
    "compression": "snappy",
    "version": "2.6",
    "data_page_version": "1.0",
    "write_statistics": True,
    "store_schema": True,
}


class Sink(Protocol):
    def write(self, batch: pa.RecordBatch) -> None: ...
    def close(self) -> None: ...


def _is_temporal(t: pa.DataType) -> bool:
    return bool(pa.types.is_timestamp(t) or pa.types.is_time(t) or pa.types.is_date(t))


def _text_ready(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Temporals as ISO 8601 text (``2024-05-01T08:30:00``), the same in CSV and JSON Lines."""
    arrays = []
    for field, arr in zip(batch.schema, batch.columns, strict=True):
        if pa.types.is_timestamp(field.type):
            arr = pc.strftime(arr.cast(pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S")
        elif pa.types.is_time(field.type):
            arr = arr.cast(pa.time32("s"), safe=False).cast(pa.string())
        elif pa.types.is_date(field.type):
            arr = arr.cast(pa.string())
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


class ParquetSink:
    """Parquet with fixed row groups, written on a helper thread.

    Arrow releases the GIL while encoding, so generating the next block overlaps with writing the
    previous one; the queue is short, which keeps memory flat, and order is preserved.
    """

    def __init__(self, path: Path, schema: pa.Schema, dictionary_columns: list[str]) -> None:
        self._writer = pq.ParquetWriter(path, schema, use_dictionary=dictionary_columns, **PARQUET_OPTIONS)
        self._pending: list[pa.RecordBatch] = []
        self._rows = 0
        self._queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="parquet-writer", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while (table := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
                except BaseException as exc:  # re-raised on the caller's thread
                    self._error = exc

    def _put(self, table: pa.Table) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(table)

    def write(self, batch: pa.RecordBatch) -> None:
        self._pending.append(batch)
        self._rows += batch.num_rows
        if self._rows >= ROW_GROUP_ROWS:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        if not self._pending:
            return
        table = pa.Table.from_batches(self._pending)
        start = 0
        while table.num_rows - start >= ROW_GROUP_ROWS or (final and start < table.num_rows):
            part = table.slice(start, ROW_GROUP_ROWS)
            self._put(part)
            start += part.num_rows
        rest = table.slice(start)
        self._pending = rest.to_batches() if rest.num_rows else []
        self._rows = rest.num_rows

    def close(self) -> None:
        try:
            self._flush(final=True)
        finally:
            self._queue.put(None)
            self._thread.join()
            self._writer.close()
        if self._error is not None:
            raise self._error


class CsvSink:
    def __init__(self, path: Path, schema: pa.Schema, dictionary_columns: list[str]) -> None:
        text_schema = pa.schema(
            [pa.field(f.name, pa.string() if _is_temporal(f.type) else f.type) for f in schema]
        )
        options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
        self._writer = pacsv.CSVWriter(str(path), text_schema, write_options=options)

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(_text_ready(batch))

    def close(self) -> None:
        self._writer.close()


def _json_fragment(arr: pa.Array) -> pa.Array:
    """Each value as JSON text, ``null`` for nulls."""
    if pa.types.is_string(arr.type):
        escaped = pc.replace_substring(pc.replace_substring(arr, "\\", "\\\\"), '"', '\\"')
        if pc.any(pc.match_substring_regex(escaped, r"[\x00-\x1f]")).as_py():
            escaped = pa.array([None if v is None else json.dumps(v)[1:-1] for v in arr.to_pylist()], pa.string())
        out = pc.binary_join_element_wise('"', escaped, '"', "")
    elif pa.types.is_floating(arr.type):
        out = pc.cast(arr, pa.string())
        out = pc.if_else(pc.is_finite(arr), out, pa.scalar(None, pa.string()))
    else:
        out = pc.cast(arr, pa.string())
    return pc.fill_null(out, "null")


class JsonlSink:
    def __init__(self, path: Path, schema: pa.Schema, dictionary_columns: list[str]) -> None:
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._keys = [json.dumps(n) + ":" for n in schema.names]

    def write(self, batch: pa.RecordBatch) -> None:
        for start in range(0, batch.num_rows, _JSON_SLICE):
            self._write(batch.slice(start, _JSON_SLICE))

    def _write(self, batch: pa.RecordBatch) -> None:
        ready = _text_ready(batch)
        parts: list[pa.Array | str] = []
        for i, (key, arr) in enumerate(zip(self._keys, ready.columns, strict=True)):
            parts.append(("{" if i == 0 else ",") + key)
            parts.append(_json_fragment(arr))
        parts.append("}\n")
        lines = pc.binary_join_element_wise(*parts, "")
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
        first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
        self._file.write(memoryview(lines.buffers()[2])[first:last])

    def close(self) -> None:
        self._file.close()


_SINKS: dict[str, type[ParquetSink] | type[CsvSink] | type[JsonlSink]] = {
    "parquet": ParquetSink,
    "csv": CsvSink,
    "jsonl": JsonlSink,
}


class AtomicFile:
    """Write through a sink to ``path.partial``; ``commit`` fsyncs and renames, ``abort`` deletes."""

    def __init__(self, path: Path, fmt: str, schema: pa.Schema, dictionary_columns: list[str]) -> None:
        self.path = path
        self.tmp = path.with_name(path.name + ".partial")
        self.sink: Sink = _SINKS[fmt](self.tmp, schema, dictionary_columns)

    def commit(self) -> None:
        self.sink.close()
        publish(self.tmp, self.path)

    def abort(self) -> None:
        """Drop the partial file; a close error here would only hide the error that got us here."""
        try:
            self.sink.close()
        except Exception:  # the original exception is already propagating
            pass
        finally:
            self.tmp.unlink(missing_ok=True)
