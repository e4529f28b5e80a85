"""Telemetry of a live run written to Parquet as it runs, with the same columns as a dataset.

A live run can last days, so rows are buffered and written one row group at a time
(`chunk_rows`), keeping memory flat. The columns match `simulators.dataset` output so the same
tools read both: `timestamp` (UTC, ms), every tag (float64; booleans int8 0/1, with unit/kind/role
metadata), a `quality:<sensor>` column per sensor (int8, the reading's quality code, `core.sensors`),
then the labels `attack` (int8), `attack_id`, `technique`, `attack_type` (null on normal
rows, `;`-joined where attacks overlap). Rows go to `<path>.part`, renamed to `path` by `close()`,
so a file under the real name is always complete.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from simulators.core.tags import TagTable
from simulators.dataset import LABEL_FIELDS, PARQUET_OPTIONS, quality_field
from simulators.fsutil import publish
from simulators.manifest import canonical_json

Labels = tuple[int, str | None, str | None, str | None]
NORMAL: Labels = (0, None, None, None)


def telemetry_schema(table: TagTable, metadata: Mapping[str, Any]) -> pa.Schema:
    fields = [pa.field("timestamp", pa.timestamp("ms", tz="UTC"), nullable=False)]
    for tag in table.columns:
        meta = {"unit": tag.unit, "kind": tag.kind, "role": tag.role}
        fields.append(pa.field(tag.name, pa.int8() if tag.is_bool else pa.float64(), nullable=False, metadata=meta))
    fields += [quality_field(tag.name) for tag in table.sensors]
    fields += LABEL_FIELDS
    return pa.schema(fields, metadata={"sealforge.live": canonical_json(dict(metadata)).decode()})


class TelemetryRecorder:
    """Buffers rows and writes them as Parquet row groups."""

    def __init__(self, path: str | os.PathLike[str], table: TagTable, metadata: Mapping[str, Any],
                 chunk_rows: int = 1000) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be >= 1")
        self.path = Path(path)
        self.part = self.path.with_name(self.path.name + ".part")
        self.table = table
        self.schema = telemetry_schema(table, metadata)
        self.chunk_rows = chunk_rows
        self.rows = 0
        self.attack_rows = 0
        self.row_groups = 0
        self._names = table.names
        self._bools = [t.is_bool for t in table.columns]
        self._sensors = [t.name for t in table.sensors]
        self._ts: list[int] = []
        self._vals: list[list[float]] = []
        self._quality: list[list[int]] = []
        self._labels: list[Labels] = []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer: Any = pq.ParquetWriter(self.part, self.schema, **PARQUET_OPTIONS)

    def append(self, timestamp_ms: int, values: Mapping[str, Any], quality: Mapping[str, int],
               labels: Labels = NORMAL) -> None:
        """One scan: every tag's value, every sensor's quality code (`LivePlant.snapshot()`'s
        `quality`), and the labels."""
        if self._writer is None:
            raise RuntimeError("the recorder is closed")
        self._ts.append(timestamp_ms)
        self._vals.append([float(values[n]) for n in self._names])
        self._quality.append([int(quality[n]) for n in self._sensors])
        self._labels.append(labels)
        self.rows += 1
        self.attack_rows += labels[0]
        if len(self._ts) >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        if not self._ts or self._writer is None:
            return
        vals = np.asarray(self._vals, dtype=np.float64)
        columns: list[pa.Array] = [pa.array(np.asarray(self._ts, dtype=np.int64), type=pa.timestamp("ms", tz="UTC"))]
        for j, is_bool in enumerate(self._bools):
            col = vals[:, j]
            columns.append(pa.array(col.astype(np.int8)) if is_bool else pa.array(col))
        codes = np.asarray(self._quality, dtype=np.int8).reshape(len(self._ts), len(self._sensors))
        columns += [pa.array(codes[:, j]) for j in range(len(self._sensors))]
        flag, ids, techs, types = zip(*self._labels, strict=True)
        columns += [pa.array(np.asarray(flag, dtype=np.int8)), pa.array(ids, pa.string()),
                    pa.array(techs, pa.string()), pa.array(types, pa.string())]
        batch = pa.RecordBatch.from_arrays(columns, schema=self.schema)
        self._writer.write_table(pa.Table.from_batches([batch]))
        self.row_groups += 1
        self._ts, self._vals, self._quality, self._labels = [], [], [], []

    def close(self) -> dict[str, Any]:
        """Write what is buffered, finish the file and move it to its real name."""
        if self._writer is not None:
            self.flush()
            self._writer.close()
            self._writer = None
            publish(self.part, self.path)
        return {"path": str(self.path), "rows": self.rows, "attack_rows": self.attack_rows,
                "row_groups": self.row_groups}

    def abort(self) -> None:
        """Drop the partial file (the run failed before it could be closed)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.part.unlink(missing_ok=True)
