"""Evaluations: TSTR of a synthesize job's rows against real rows, run inside the request.

Why synchronous: an evaluation writes no artifact that would need sealing, its inputs are capped
at ``tstr.MAX_ROWS`` (200k) rows per set, seeded-subsampled beyond that, and at that size a
histogram gradient-boosting fit takes seconds; the caller wants the number at once. The real test
rows default to the model's holdout (rows it never saw), rebuilt from its dataset; ``dataset_id``
tests on another real dataset instead.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from appliance import errors
from appliance.clock import now_iso
from appliance.errors import AppError
from appliance.ids import new_id
from appliance.services.synth.interface import SynthesisError
from appliance.store import datasets as datasets_store
from appliance.store import jobs as jobs_store
from appliance.store import models as models_store
from appliance.store.blobs import BlobStore
from appliance.store.db import transaction

SEED = 0


def _read(state_dir: Path, digest: str, fmt: str, max_rows: int) -> Any:
    from appliance.services.datasets.formats import FormatError, read_all
    from appliance.services.synth.frames import UnsupportedColumn, to_frame

    try:
        return to_frame(read_all(BlobStore(state_dir).path(digest), fmt, max_rows=max_rows))
    except (FormatError, UnsupportedColumn) as exc:
        raise AppError(errors.DATASET_INVALID, str(exc)) from exc


def _synthetic(conn: sqlite3.Connection, state_dir: Path, tenant_id: str, job_id: str) -> tuple[dict[str, Any], Any]:
    from appliance.services.synth.tstr import MAX_ROWS

    job = jobs_store.get_job(conn, job_id, tenant_id)
    if job is None or job["kind"] != "synthesize":
        raise errors.validation("job_id", f"{job_id!r} is not a synthesize job of yours")
    if job["status"] != "succeeded" or not job["result"]:
        raise AppError(errors.CONFLICT, f"synthesize job {job_id} is {job['status']}, not succeeded")
    result: dict[str, Any] = json.loads(job["result"])
    if "artifact" not in result:
        raise errors.validation("job_id", "TSTR evaluates single-table synthesize jobs; this one made several tables")
    artifact = jobs_store.artifact_named(conn, job_id, result["artifact"])
    if artifact is None:
        raise AppError(errors.CONFLICT, f"job {job_id} has no {result['artifact']} artifact")
    return result, _read(state_dir, artifact["blake3"], result["format"], MAX_ROWS)


def _real(
    conn: sqlite3.Connection, state_dir: Path, tenant_id: str, result: dict[str, Any], dataset_id: str | None
) -> tuple[Any, Any, str]:
    """(real test rows, real training rows or None, the dataset they came from)."""
    from appliance.services.synth.metadata import TableMetadata
    from appliance.services.synth.split import Source
    from appliance.services.synth.training import reference_rows
    from appliance.services.synth.tstr import MAX_ROWS

    if dataset_id:
        row = datasets_store.get_dataset(conn, dataset_id, tenant_id)
        if row is None:
            raise errors.validation("dataset_id", f"dataset {dataset_id!r} was not found")
        return _read(state_dir, row["blake3"], row["format"], MAX_ROWS), None, dataset_id
    source = Source.from_dict(result["source"])
    row = datasets_store.get_dataset(conn, source.dataset_id, tenant_id)
    if row is None or row["blake3"] != source.dataset_blake3:
        raise errors.validation("dataset_id", "the model's training dataset is gone; pass dataset_id to test on")
    frame = _read(state_dir, row["blake3"], row["format"], source.max_rows)
    dates = TableMetadata(
        {"columns": {c: {"sdtype": "datetime"} for c in result.get("date_formats") or {}}},
        result.get("date_formats") or {},
    )
    train, holdout = reference_rows(frame, dates, source)
    if len(holdout) == 0:
        raise errors.validation("dataset_id", "the model kept no holdout rows; pass a dataset_id to test on")
    return holdout, train, source.dataset_id


def _as_dates(frame: Any, other: Any) -> Any:
    """Text dates in ``frame`` parsed where ``other``'s column is a timestamp (naive UTC)."""
    import pandas as pd

    frame = frame.copy()
    for name in other.columns:
        wants_dates = name in frame.columns and pd.api.types.is_datetime64_any_dtype(other[name])
        if wants_dates and not pd.api.types.is_datetime64_any_dtype(frame[name]):
            frame[name] = pd.to_datetime(frame[name], errors="coerce", format="mixed", utc=True).dt.tz_localize(None)
    return frame


def _align_dates(real: Any, synthetic: Any) -> tuple[Any, Any]:
    """Both sides with a timestamp where either has one: synthetic text dates (written back in the
    source's text layout) and real text dates compare as timestamps."""
    return _as_dates(real, synthetic), _as_dates(synthetic, real)


def create(
    conn: sqlite3.Connection, state_dir: Path, tenant_id: str, caller: str, body: dict[str, Any]
) -> dict[str, Any]:
    from appliance.services.synth.quality import sample_rows
    from appliance.services.synth.tstr import MAX_ROWS, evaluate

    target = body["target"]
    result, synthetic = _synthetic(conn, state_dir, tenant_id, body["job_id"])
    real_test, real_train, dataset_id = _real(conn, state_dir, tenant_id, result, body.get("dataset_id"))
    if len(real_test) == 0:
        raise errors.validation("dataset_id", "the dataset holds no rows")
    if len(synthetic) == 0:
        raise errors.validation("job_id", "the job's rows are empty")
    for name, frame in (("synthetic rows", synthetic), ("real rows", real_test)):
        if target not in frame.columns:
            known = ", ".join(map(str, list(frame.columns)[:20]))
            raise errors.validation("target", f"unknown column {target!r} in the {name}; columns: {known}")
    real_test, synthetic = _align_dates(real_test, synthetic)
    real_test = sample_rows(real_test, MAX_ROWS, SEED)
    if real_train is not None:
        real_train = sample_rows(_align_dates(real_train, synthetic)[0], MAX_ROWS, SEED + 1)
    try:
        metrics = evaluate(synthetic, real_test, target, body.get("task") or "auto", SEED, real_train)
    except SynthesisError as exc:
        raise errors.validation(exc.field, exc.message) from exc
    row = {
        "id": new_id("evl"),
        "tenant_id": tenant_id,
        "job_id": body["job_id"],
        "model_id": result.get("model_id"),
        "dataset_id": dataset_id,
        "target": target,
        "task": metrics["task"],
        "metrics": metrics,
        "created_by": caller,
        "created_at": now_iso(),
    }
    with transaction(conn):
        models_store.insert_evaluation(conn, row)
    return view(row)


def require(conn: sqlite3.Connection, tenant_id: str, evaluation_id: str) -> dict[str, Any]:
    row = models_store.get_evaluation(conn, evaluation_id, tenant_id)
    if row is None:
        raise errors.not_found("evaluation", evaluation_id)
    return view(row)


def view(row: dict[str, Any]) -> dict[str, Any]:
    metrics = row["metrics"]
    return {
        "id": row["id"],
        "job_id": row["job_id"],
        "model_id": row["model_id"],
        "dataset_id": row["dataset_id"],
        "target": row["target"],
        "task": row["task"],
        "metric": metrics["metric"],
        "score": metrics["score"],
        "tstr": metrics["tstr"],
        "trtr": metrics["trtr"],
        "columns": metrics["columns"],
        "features": metrics["features"],
        "dropped_features": metrics["dropped_features"],
        "rows": metrics["rows"],
        "created_at": row["created_at"],
        "_links": {"self": f"/v1/evaluations/{row['id']}", "job": f"/v1/jobs/{row['job_id']}"},
    }
