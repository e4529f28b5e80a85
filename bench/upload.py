"""Benchmark: uploading a large table (CSV, JSON Lines, Parquet) beside pyarrow reading the same file.

Uploads are streamed to the blob store and then parsed batch by batch within the `[datasets]`
decoding limits (decoded table, cell, row, Parquet pages, columns, nesting depth). This measures
what that costs, per format:

- Files: a plant-telemetry table (a timestamp, site/unit/status strings, a sequence number, ten
  sensor floats with a few dropouts, a valve position and an alarm code), generated from a seeded
  numpy generator in chunks, as many rows as make each file about ``--mb`` MB (estimated from a
  sample): CSV, JSON Lines and Parquet (zstd, row groups of 1Mi rows).
- Sealforge: POST /v1/datasets?name=telemetry.<ext> with the file as the raw body (streamed), through
  the real app's in-process Flask test client, timed end to end (201 expected). The app runs in a
  subprocess of its own, so its peak RSS growth (VmHWM after the upload minus RSS before it; the
  high-water mark is reset first where the kernel allows) belongs to the upload alone. A tiny file of
  the same format is uploaded first, so imports and first-request costs stay out of the figures.
  ``check_content`` (the parse-and-limits pass the upload runs on the stored blob) is wrapped with a
  timer, to split the upload into validation and the rest (streaming to the store, BLAKE3, the row).
- Peer: pyarrow reading the whole file into a table (``pyarrow.csv.read_csv``,
  ``pyarrow.json.read_json``, ``pyarrow.parquet.read_table``, pyarrow's defaults, so all cores) in the
  same kind of subprocess, after the same warm-up, timed and measured the same way.

Both sides read a file that was just written, so from the page cache.

    .venv/bin/python bench/upload.py [--mb 100] [--seed 7] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
CHILD = "_child"
UPLOAD_FORMATS = ("csv", "jsonl", "parquet")
CHUNK_ROWS = 1 << 16
ROW_GROUP_ROWS = 1 << 20  # pyarrow's default row group
WARM_BYTES = 64 << 10
MB = 1_000_000
SENSORS = {  # name: (typical value, daily swing, noise)
    "inlet_temp_c": (18.0, 4.0, 0.3),
    "outlet_temp_c": (24.0, 5.0, 0.4),
    "inlet_pressure_bar": (4.2, 0.3, 0.05),
    "outlet_pressure_bar": (3.6, 0.3, 0.05),
    "flow_m3h": (850.0, 120.0, 15.0),
    "tank_level_m": (6.5, 1.2, 0.02),
    "ph": (7.2, 0.2, 0.03),
    "turbidity_ntu": (0.8, 0.3, 0.1),
    "motor_current_a": (112.0, 10.0, 2.5),
    "vibration_mm_s": (2.1, 0.4, 0.3),
}
SITES = np.array(["north-works", "south-works", "river-intake"])
STATUSES = np.array(["OK", "WARN", "ALARM", "MAINT"])
START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z


# --- the files ---------------------------------------------------------------------------------


def telemetry_chunk(seed: int, index: int, rows: int) -> pa.Table:
    """Rows ``index * rows`` onwards of the table, the same for a given (seed, index, rows)."""
    rng = np.random.default_rng([seed, index])
    seq = np.arange(index * rows, (index + 1) * rows, dtype=np.int64)
    seconds = seq.astype(np.float64)
    day = np.sin(2 * np.pi * seconds / 86_400)
    columns: dict[str, pa.Array] = {
        "ts": pa.array(START_MS + seq * 1000, pa.timestamp("ms")),
        "site": pa.array(SITES[rng.integers(0, len(SITES), rows)]),
        "unit": pa.array(np.char.add("P-", rng.integers(101, 149, rows).astype(str))),
        "seq": pa.array(seq),
    }
    for name, (typical, swing, noise) in SENSORS.items():
        values = np.round(typical + swing * day + rng.normal(0, noise, rows), 3)
        dropout = rng.random(rows) < 0.001  # a sensor that did not answer
        columns[name] = pa.array(values, mask=dropout)
    columns["valve_pos_pct"] = pa.array(rng.integers(0, 101, rows, dtype=np.int8))
    alarm = np.where(rng.random(rows) < 0.02, rng.integers(100, 999, rows), 0).astype(np.int32)
    columns["alarm_code"] = pa.array(alarm)
    columns["status"] = pa.array(STATUSES[np.searchsorted([0.95, 0.98, 0.995], rng.random(rows))])
    return pa.table(columns)


def _jsonl(table: pa.Table) -> bytes:
    ts = pc.strftime(table["ts"], format="%Y-%m-%dT%H:%M:%S")
    rows = table.set_column(0, "ts", ts).to_pylist()
    return "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows).encode()


def _encode(fmt: str, table: pa.Table) -> bytes:
    """``table`` as a whole file of ``fmt``, in memory (to size the files from a sample)."""
    if fmt == "jsonl":
        return _jsonl(table)
    sink = pa.BufferOutputStream()
    if fmt == "csv":
        pa_csv.write_csv(table, sink)
    else:
        pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue())


def rows_for(fmt: str, target_bytes: int, seed: int) -> int:
    """Rows that make a file of about ``target_bytes``, from the bytes per row of a sample chunk."""
    sample = telemetry_chunk(seed, 0, CHUNK_ROWS)
    per_row = len(_encode(fmt, sample)) / CHUNK_ROWS
    return max(1, round(target_bytes / per_row))


def write_table_file(path: Path, fmt: str, rows: int, seed: int) -> None:
    """Write ``rows`` rows, generated a chunk at a time (Parquet: row groups of ``ROW_GROUP_ROWS``)."""
    schema = telemetry_chunk(seed, 0, 1).schema
    pending: list[pa.Table] = []
    with pa.OSFile(str(path), "wb") as sink:
        csv_writer = pa_csv.CSVWriter(sink, schema) if fmt == "csv" else None
        pq_writer = pq.ParquetWriter(sink, schema, compression="zstd") if fmt == "parquet" else None
        for index, start in enumerate(range(0, rows, CHUNK_ROWS)):
            chunk = telemetry_chunk(seed, index, CHUNK_ROWS).slice(0, rows - start)
            if csv_writer is not None:
                csv_writer.write_table(chunk)
            elif pq_writer is not None:
                pending.append(chunk)
                if sum(t.num_rows for t in pending) >= ROW_GROUP_ROWS or start + CHUNK_ROWS >= rows:
                    pq_writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
                    pending.clear()
            else:
                sink.write(_jsonl(chunk))
        if csv_writer is not None:
            csv_writer.close()
        if pq_writer is not None:
            pq_writer.close()


# --- the measured subprocesses -----------------------------------------------------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> int:
    """Reset VmHWM to the current RSS where the kernel allows it; the baseline to measure growth from."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return _status_kib("VmHWM")  # no reset: growth is measured past the peak so far
    return _status_kib("VmRSS")


def sealforge_child(fmt: str, path: Path, warm: Path, state: Path) -> dict[str, Any]:
    """Upload ``warm`` then ``path`` through the real app in this process; time and peak of the second."""
    sys.path.insert(0, str(ROOT))
    from appliance.api import create_app
    from appliance.services import identity
    from appliance.services.datasets import formats
    from appliance.store.open import open_db

    check_seconds: list[float] = []
    check_content = formats.check_content

    def timed_check(*args: Any, **kwargs: Any) -> tuple[int, list[dict[str, str]]]:
        start = time.perf_counter()
        try:
            return check_content(*args, **kwargs)
        finally:
            check_seconds.append(time.perf_counter() - start)

    formats.check_content = timed_check  # ingest looks it up on the module at each upload

    app = create_app({"server": {"state_dir": str(state)}, "ratelimit": {"enabled": False}})
    client = app.test_client()
    db = open_db(state)
    tenant = identity.create_tenant(db, "bench")
    headers = {"X-API-Key": identity.create_key(db, tenant["id"], ["generate"])["api_key"]}

    def upload(file: Path) -> tuple[int, dict[str, Any]]:
        with file.open("rb") as body:  # streamed: the body is never held in memory here
            response = client.post(
                "/v1/datasets",
                input_stream=body,
                content_length=file.stat().st_size,
                query_string={"name": f"telemetry.{fmt}"},
                headers=headers,
                content_type="application/octet-stream",
            )
        return response.status_code, response.get_json()

    status, answer = upload(warm)
    if status != 201:
        raise RuntimeError(f"warm-up upload: {status} {answer}")
    check_seconds.clear()
    baseline = reset_peak()
    start = time.perf_counter()
    status, answer = upload(path)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    if status != 201:
        raise RuntimeError(f"upload of {path.name}: {status} {answer}")
    if len(check_seconds) != 1:
        raise RuntimeError(f"expected one check_content call during the upload, saw {len(check_seconds)}")
    return {
        "seconds": seconds,
        "growth_kib": peak - baseline,
        "rows": answer["rows"],
        "check_seconds": check_seconds[0],
    }


def peer_child(fmt: str, path: Path, warm: Path) -> dict[str, Any]:
    """pyarrow reads ``warm`` then ``path`` whole into a table; time and peak of the second."""
    import pyarrow.json as pa_json

    readers: dict[str, Callable[[Path], pa.Table]] = {
        "csv": lambda p: pa_csv.read_csv(p),
        "jsonl": lambda p: pa_json.read_json(p),
        "parquet": lambda p: pq.read_table(p),
    }
    read = readers[fmt]
    read(warm)
    baseline = reset_peak()
    start = time.perf_counter()
    table = read(path)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    return {"seconds": seconds, "growth_kib": peak - baseline, "rows": table.num_rows, "decoded_bytes": table.nbytes}


def run_child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), CHILD, *args], capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {args[:2]} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def child_main(argv: list[str]) -> None:
    role, fmt, path, warm, *rest = argv
    if role == "sealforge":
        result = sealforge_child(fmt, Path(path), Path(warm), Path(rest[0]))
    else:
        result = peer_child(fmt, Path(path), Path(warm))
    print(json.dumps(result))


# --- the run -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0, help="size of each file, in MB (10^6 bytes)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None, help="where to put the files and state dirs")
    args = parser.parse_args()
    rows_out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        for fmt in UPLOAD_FORMATS:
            path, warm = work / f"telemetry.{fmt}", work / f"warm.{fmt}"
            written = rows_for(fmt, int(args.mb * MB), args.seed)
            write_table_file(path, fmt, written, args.seed)
            write_table_file(warm, fmt, rows_for(fmt, WARM_BYTES, args.seed), args.seed + 1)
            ours = run_child("sealforge", fmt, str(path), str(warm), str(work / f"state-{fmt}"))
            peer = run_child("peer", fmt, str(path), str(warm))
            if not ours["rows"] == peer["rows"] == written:
                raise RuntimeError(f"{fmt}: rows differ: wrote {written}, sealforge {ours['rows']}, {peer['rows']}")
            rows_out.append({"fmt": fmt, "mb": path.stat().st_size / MB, "rows": written, "ours": ours, "peer": peer})
            path.unlink()

    print(f"\nupload vs pyarrow full read, {os.cpu_count()} CPUs, pyarrow {pa.__version__}")
    print(
        f"{'format':<9}{'MB':>8}{'rows':>11}{'sealforge upload s':>20}{'peer read s':>13}{'ratio':>8}"
        f"{'sealforge peak MiB':>20}{'peer peak MiB':>15}"
    )
    for r in rows_out:
        ours, peer = r["ours"], r["peer"]
        print(
            f"{r['fmt']:<9}{r['mb']:>8.1f}{r['rows']:>11,}{ours['seconds']:>20.2f}{peer['seconds']:>13.2f}"
            f"{ours['seconds'] / peer['seconds']:>7.2f}x{ours['growth_kib'] / 1024:>20.1f}"
            f"{peer['growth_kib'] / 1024:>15.1f}"
        )
    print()
    for r in rows_out:
        ours, peer = r["ours"], r["peer"]
        store_s = ours["seconds"] - ours["check_seconds"]
        print(
            f"ratio {r['fmt']} sealforge upload/pyarrow read: {ours['seconds'] / peer['seconds']:.2f}x time, "
            f"{ours['growth_kib'] / max(peer['growth_kib'], 1):.2f}x peak RSS growth; "
            f"of which validation (check_content) {ours['check_seconds']:.2f} s = "
            f"{ours['check_seconds'] / peer['seconds']:.2f}x the read, the rest (store, BLAKE3, row) {store_s:.2f} s"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == CHILD:
        child_main(sys.argv[2:])
    else:
        main()
