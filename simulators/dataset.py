"""Batch generation of labelled datasets: Arrow batches, Parquet/CSV files and their manifest.

Rows are produced in chunks straight from the scan engine and written as they come, so memory
stays flat however long the run. Output is deterministic: the same request gives the same bytes
(seeded generators, fixed chunking, fixed Parquet writer options, no wall-clock values anywhere).

Columns, in order: `timestamp` (UTC, ms), `instance` (only when instances > 1; rows are
time-major), every tag of the plant (float64; booleans as int8 0/1), a `quality:<tag>` column
per sensor (int8: 0 good, 1 uncertain - pinned at a range end, 2 uncertain - stale, 3 bad; see
`core.sensors`), the `truth:` columns when asked for, then the labels `attack` (int8 0/1),
`attack_id`, `technique` (ATT&CK id) and `attack_type` (catalogue key); the three strings are null
on normal rows and `;`-joined where attacks overlap. That is the `native` profile; `profile: swat`
or `hai` rewrites every batch in the shape of those public datasets (`profiles`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from simulators.attacks.apply import scan_window
from simulators.fsutil import publish
from simulators.manifest import build_manifest, canonical_json
from simulators.profiles import ProfileWriter
from simulators.runtime import Simulation
from simulators.validation import SimulationRequest, prepare_scenario_fabricate, prepare_simulate

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]

CHUNK_ROWS = 65536  # rows per Arrow batch / Parquet row group (instances included)
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_size": 1 << 20,
}
LABEL_FIELDS: tuple[pa.Field, ...] = (
    pa.field("attack", pa.int8(), nullable=False),
    pa.field("attack_id", pa.string()),
    pa.field("technique", pa.string()),
    pa.field("attack_type", pa.string()),
)
"""The label columns that end every row of a dataset and of a live run's telemetry, in this order."""


@dataclass
class Dataset:
    table: pa.Table
    manifest: dict[str, Any]


class _Labels:
    """Per-row labels from the scenarios' scan windows, plus running counts for the manifest."""

    def __init__(self, req: SimulationRequest) -> None:
        self.windows = [(s, *scan_window(s, req.scan_period)) for s in req.scenarios]
        self.attack_rows = 0
        self.outcomes: dict[str, dict[str, Any]] = {}  # per attack id, from the run (attacks.outcome)

    def chunk(self, idx: np.ndarray) -> tuple[np.ndarray, list[str | None], list[str | None], list[str | None]]:
        n = len(idx)
        flag = np.zeros(n, dtype=np.int8)
        ids: list[str | None] = [None] * n
        techs: list[str | None] = [None] * n
        types: list[str | None] = [None] * n
        for sc, s0, e0 in self.windows:
            lo, hi = np.searchsorted(idx, s0), np.searchsorted(idx, e0)
            if lo >= hi:
                continue
            flag[lo:hi] = 1
            spec = sc.spec
            for r in range(int(lo), int(hi)):
                if ids[r] is None:
                    ids[r], techs[r], types[r] = sc.attack_id, spec.attck_id, spec.key
                else:
                    ids[r] = f"{ids[r]};{sc.attack_id}"
                    techs[r] = f"{techs[r]};{spec.attck_id}"
                    types[r] = f"{types[r]};{spec.key}"
        self.attack_rows += int(flag.sum())
        return flag, ids, techs, types


def arrow_schema(req: SimulationRequest, sim: Simulation) -> pa.Schema:
    table = sim.table
    fields = [pa.field("timestamp", pa.timestamp("ms", tz="UTC"), nullable=False)]
    if req.instances > 1:
        fields.append(pa.field("instance", pa.int32(), nullable=False))
    for name, is_bool in zip(sim.columns, sim.bool_columns, strict=True):
        prefix = next((p for p in ("truth", "quality") if name.startswith(p + ":")), "")
        tag = table.by_name[name.removeprefix(prefix + ":") if prefix else name]
        if prefix == "quality":
            fields.append(quality_field(tag.name))
            continue
        meta = {"unit": tag.unit, "kind": tag.kind, "role": "truth" if prefix == "truth" else tag.role}
        fields.append(pa.field(name, pa.int8() if is_bool else pa.float64(), nullable=False, metadata=meta))
    fields += LABEL_FIELDS
    request = canonical_json(req.contract()).decode()
    return pa.schema(fields, metadata={"sealforge.simulation": request})


def quality_field(sensor: str) -> pa.Field:
    """The `quality:<sensor>` column, as a dataset and a live recording both write it."""
    return pa.field(f"quality:{sensor}", pa.int8(), nullable=False,
                    metadata={"unit": "", "kind": "quality", "role": "quality"})


def make_simulation(req: SimulationRequest) -> Simulation:
    return Simulation(
        req.plant_cls,
        req.params,
        seed=req.seed,
        instances=req.instances,
        scan_period=req.scan_period,
        sensors=req.sensors,
        scenarios=req.scenarios,
        include_truth=req.include_truth,
        start_ms=req.start_ms,
    )


def iter_batches(
    req: SimulationRequest,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    labels: _Labels | None = None,
) -> Iterator[pa.RecordBatch]:
    """The dataset as Arrow record batches, in order. `progress(done_rows, total_rows)`; `cancel()` is
    polled at least every 0.25 s of wall time and raises `SimulationCancelled` when it returns True."""
    sim = make_simulation(req)
    schema = arrow_schema(req, sim)
    labels = labels or _Labels(req)
    n = req.instances
    total = req.total_rows
    every = req.every
    scan_progress = None
    if progress is not None:
        def scan_progress(done: int, _scans: int) -> None:
            progress(min(total, (done // every) * n), total)
    chunk_scans = max(1, CHUNK_ROWS // n)
    bool_cols = sim.bool_columns
    for idx, vals in sim.run(req.scans, every, chunk_scans, cancel, scan_progress):
        rows = len(idx)
        ts = req.start_ms + idx * req.scan_ms
        if n > 1:
            vals = vals.transpose(0, 2, 1).reshape(rows * n, -1)
        columns: list[pa.Array] = [pa.array(np.repeat(ts, n) if n > 1 else ts, type=pa.timestamp("ms", tz="UTC"))]
        if n > 1:
            columns.append(pa.array(np.tile(np.arange(n, dtype=np.int32), rows)))
        for j, is_bool in enumerate(bool_cols):
            col = vals[:, j]
            columns.append(pa.array(col.astype(np.int8)) if is_bool else pa.array(col))
        flag, ids, techs, types = labels.chunk(idx)
        if n > 1:
            flag = np.repeat(flag, n)
            ids, techs, types = ([v for v in lst for _ in range(n)] for lst in (ids, techs, types))
        columns += [pa.array(flag), pa.array(ids, pa.string()), pa.array(techs, pa.string()),
                    pa.array(types, pa.string())]
        yield pa.RecordBatch.from_arrays(columns, schema=schema)
    labels.outcomes = sim.attack_outcomes()
    if progress is not None:
        progress(total, total)


def generate(req: SimulationRequest, progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> Dataset:
    """Run a request in memory: the whole table plus its manifest."""
    labels = _Labels(req)
    batches = list(iter_batches(req, progress, cancel, labels))
    schema = batches[0].schema
    manifest = build_manifest(req, schema, labels.attack_rows * req.instances, labels.outcomes)
    if req.profile != "native":
        shaper = ProfileWriter(req, schema)
        batches = [shaper.convert(b) for b in batches]
        schema = shaper.schema
        manifest["profile"] = shaper.info()
    return Dataset(pa.Table.from_batches(batches, schema=schema), manifest)


def write_dataset(
    req: SimulationRequest,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> dict[str, Any]:
    """Stream a request to `path` (Parquet or CSV, default `req.format`) and return its manifest.

    The file appears only when complete: rows go to `<path>.part`, renamed at the end; on error or
    cancellation the partial file is removed."""
    fmt = fmt or req.format
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"unknown format {fmt!r}")
    target = Path(path)
    part = target.with_name(target.name + ".part")
    labels = _Labels(req)
    schema: pa.Schema | None = None
    writer: Any = None
    shaper: ProfileWriter | None = None
    try:
        for native in iter_batches(req, progress, cancel, labels):
            if schema is None:
                schema = native.schema
                shaper = ProfileWriter(req, schema) if req.profile != "native" else None
            batch = shaper.convert(native) if shaper is not None else native
            if writer is None:
                if fmt == "parquet":
                    writer = pq.ParquetWriter(part, schema, **PARQUET_OPTIONS)
                elif shaper is not None:
                    writer = shaper.csv_writer(part)
                else:
                    writer = pacsv.CSVWriter(part, schema)
            if fmt == "parquet":
                writer.write_table(pa.Table.from_batches([batch]), row_group_size=CHUNK_ROWS)
            else:
                writer.write_batch(batch)
        assert writer is not None and schema is not None
        writer.close()
        writer = None
        publish(part, target)
    finally:
        if writer is not None:
            writer.close()
        if part.exists():
            part.unlink()
    manifest = build_manifest(req, schema, labels.attack_rows * req.instances, labels.outcomes)
    manifest["data"] = {"format": fmt}
    if fmt == "parquet":
        manifest["data"]["parquet"] = dict(PARQUET_OPTIONS)
    if shaper is not None:
        manifest["profile"] = shaper.info()
    return manifest


def write_manifest(manifest: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Canonical JSON (sorted keys, no spaces, UTF-8) so the manifest is byte-stable too."""
    Path(path).write_bytes(canonical_json(manifest) + b"\n")


def simulate(
    params: Mapping[str, Any], progress: ProgressFn | None = None, cancel: CancelFn | None = None
) -> Dataset:
    """`simulate` job in memory: {plant, duration, sample_rate, params, seed, ...} -> table + manifest."""
    return generate(prepare_simulate(params), progress, cancel)


def scenario_fabricate(
    params: Mapping[str, Any], progress: ProgressFn | None = None, cancel: CancelFn | None = None
) -> Dataset:
    """`scenario_fabricate` job in memory: {plant, mix, intensity, duration, seed, ...} -> labelled table."""
    return generate(prepare_scenario_fabricate(params), progress, cancel)
