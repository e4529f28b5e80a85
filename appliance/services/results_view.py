"""What the web UI draws from a finished job's artifacts: a scenario's telemetry with its attack
windows, and a synthesize job's quality and privacy report.

A scenario's telemetry can be a year at 1 Hz, so the series are cut down here, never in the browser:
each pen keeps the minimum and the maximum of every bucket (in the order they happened), so a
spike an attack caused is still on the chart at any width. At most ``MAX_POINTS`` x values leave
the appliance per chart.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from appliance import errors
from appliance.errors import AppError
from appliance.services.datasets.cached import artifact_json
from appliance.store import jobs as jobs_store
from appliance.store.blobs import BlobStore

MAX_POINTS = 2000
DEFAULT_PENS = 4
MAX_PENS = 8
SCENARIO_KINDS = ("simulate", "scenario_fabricate")


def finished_job(conn: sqlite3.Connection, tenant_id: str, job_id: str, kinds: tuple[str, ...]) -> dict[str, Any]:
    """The tenant's job of one of ``kinds`` (another tenant's is 404, as in the API); a job that
    has not succeeded is 409, since it has nothing to draw."""
    job = jobs_store.get_job(conn, job_id, tenant_id)
    if job is None or job["kind"] not in kinds:
        raise errors.not_found("job", job_id)
    if job["status"] != "succeeded":
        raise AppError(errors.CONFLICT, f"job {job_id} is {job['status']}, so it has no result to show yet")
    return job


def decimate(
    times: np.ndarray, pens: list[np.ndarray], max_points: int = MAX_POINTS
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Min/max per bucket: ``max_points // 2`` buckets, each giving two x values (its first and last
    time) and, per pen, its extreme values in time order. Short series pass unchanged."""
    count = len(times)
    if count <= max_points:
        return times, pens
    buckets = max_points // 2
    bounds = np.linspace(0, count, buckets + 1).astype(int)
    starts, ends = bounds[:-1], bounds[1:] - 1
    out_t = np.empty(buckets * 2)
    out_t[0::2], out_t[1::2] = times[starts], times[ends]
    out_pens = []
    for values in pens:
        lo_i = np.array([s + int(np.nanargmin(values[s : e + 1])) if np.isfinite(values[s : e + 1]).any() else s
                         for s, e in zip(starts, ends, strict=True)])
        hi_i = np.array([s + int(np.nanargmax(values[s : e + 1])) if np.isfinite(values[s : e + 1]).any() else e
                         for s, e in zip(starts, ends, strict=True)])
        first, second = np.minimum(lo_i, hi_i), np.maximum(lo_i, hi_i)
        merged = np.empty(buckets * 2)
        merged[0::2], merged[1::2] = values[first], values[second]
        out_pens.append(merged)
    return out_t, out_pens


def _read_table(state_dir: Path, artifact: dict[str, Any], columns: list[str]) -> Any:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = BlobStore(state_dir).path(artifact["blake3"])
    if artifact["name"].endswith(".parquet"):
        return pq.read_table(path, columns=columns)
    options = pacsv.ConvertOptions(include_columns=columns)
    return pacsv.read_csv(path, convert_options=options)


def _profiled(state_dir: Path, artifact: dict[str, Any], manifest: dict[str, Any], profile: dict[str, Any],
              chosen: list[str]) -> tuple[np.ndarray, list[np.ndarray], list[str], dict[str, str]]:
    """A SWaT- or HAI-shaped file (`profile`): the pens by their output names, in the units written
    (SWaT levels in mm), tags the shape left out dropped. Its rows are regular and time-major, so the
    times come from the manifest's start and period rather than from the profile's text format."""
    from datetime import datetime

    columns = {c["source"]: c for c in profile.get("columns", [])}
    kept = [p for p in chosen if p in columns]
    table = _read_table(state_dir, artifact, [columns[p]["name"] for p in kept])
    start = datetime.fromisoformat(manifest["time"]["start"].replace("Z", "+00:00")).timestamp()
    rows = np.arange(table.num_rows) // max(1, int(manifest.get("instances", 1)))
    stamps = start + rows * float(manifest["time"]["sample_period_s"])
    values = [np.asarray(table.column(columns[p]["name"]).to_numpy(zero_copy_only=False), dtype="float64")
              for p in kept]
    return stamps, values, kept, {p: columns[p]["unit"] for p in kept}


def scenario_series(
    conn: sqlite3.Connection, state_dir: Path, tenant_id: str, job_id: str, pens: list[str] | None = None
) -> dict[str, Any]:
    """The telemetry of a `simulate` or `scenario_fabricate` job for a chart: times (epoch
    seconds), one decimated series per pen (the attacked tags first unless ``pens`` names them),
    and each attack's window and label."""
    job = finished_job(conn, tenant_id, job_id, SCENARIO_KINDS)
    manifest = artifact_json(conn, state_dir, job, "manifest.json")
    analog = [c["name"] for c in manifest.get("columns", []) if c.get("kind") == "analog"]
    attacks = manifest.get("attacks", [])
    if pens:
        unknown = [p for p in pens if p not in analog]
        if unknown:
            raise errors.validation("pen", f"not an analog tag of this run: {', '.join(unknown[:3])}")
        chosen = pens[:MAX_PENS]
    else:
        # the attacked tags, then tags in the same unit as the first, so the pens share a scale
        units = {c["name"]: c.get("unit", "") for c in manifest.get("columns", [])}
        targeted = [t for a in attacks for t in a.get("targets", []) if t in analog]
        first_unit = units.get(targeted[0] if targeted else analog[0] if analog else "", "")
        alike = [name for name in analog if units.get(name, "") == first_unit]
        chosen = list(dict.fromkeys(targeted + alike))[:DEFAULT_PENS]
    telemetry = next(
        (a for a in jobs_store.artifacts_of_job(conn, job_id) if a["name"] != "manifest.json"), None
    )
    if telemetry is None:
        raise AppError(errors.CONFLICT, f"job {job_id} has no telemetry artifact")
    units = {c["name"]: c.get("unit", "") for c in manifest.get("columns", [])}
    profile = manifest.get("profile")
    if profile:
        stamps, values, chosen, units = _profiled(state_dir, telemetry, manifest, profile, chosen)
    else:
        table = _read_table(state_dir, telemetry, ["timestamp", *chosen])
        import pyarrow as pa

        stamps = table.column("timestamp").cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()).to_numpy() / 1000.0
        values = [np.asarray(table.column(p).to_numpy(zero_copy_only=False), dtype="float64") for p in chosen]
    times, series = decimate(stamps, values)
    return {
        "job_id": job_id,
        "plant": manifest.get("plant", {}).get("name"),
        "rows": manifest.get("rows"),
        "t": [round(float(t), 3) for t in times],
        "pens": [
            {"name": p, "unit": units.get(p, ""), "values": [round(float(v), 6) if np.isfinite(v) else None for v in s]}
            for p, s in zip(chosen, series, strict=True)
        ],
        "analog": analog,
        "attacks": [
            {
                "id": a["attack_id"], "name": a.get("name", a.get("attack_type", "")), "technique": a.get("technique"),
                "targets": a.get("targets", []), "start": stamps[0] + float(a["start_s"]) if len(stamps) else 0.0,
                "end": stamps[0] + float(a["end_s"]) if len(stamps) else 0.0,
                "start_time": a.get("start_time"), "end_time": a.get("end_time"),
            }
            for a in attacks
        ],
    }


def scenario_attacks(conn: sqlite3.Connection, state_dir: Path, tenant_id: str, job_id: str) -> list[dict[str, Any]]:
    """The attacks of a finished scenario, from its manifest alone (no telemetry read)."""
    job = finished_job(conn, tenant_id, job_id, SCENARIO_KINDS)
    attacks: list[dict[str, Any]] = artifact_json(conn, state_dir, job, "manifest.json").get("attacks", [])
    return attacks


def synthesis_report(conn: sqlite3.Connection, state_dir: Path, tenant_id: str, job_id: str) -> dict[str, Any]:
    """A succeeded `synthesize` job's ``report.json``."""
    job = finished_job(conn, tenant_id, job_id, ("synthesize",))
    return artifact_json(conn, state_dir, job, "report.json")
