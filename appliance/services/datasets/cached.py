"""Results computed once by a job and then served from its artifact: a dataset's profile, a fit.

GET /v1/datasets/{id}/profile answers the newest succeeded `analyze` job's profile; when there is
none it starts one (free: it generates no rows) and answers 202 with the job to follow.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from appliance import errors
from appliance.errors import AppError
from appliance.store import jobs as q
from appliance.store.blobs import BlobStore


def artifact_json(conn: sqlite3.Connection, state_dir: Path, job: dict[str, Any], name: str) -> dict[str, Any]:
    row = q.artifact_named(conn, job["id"], name)
    if row is None:
        raise AppError(errors.CONFLICT, f"job {job['id']} has no {name} artifact")
    with BlobStore(state_dir).open(row["blake3"]) as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def profile_or_job(
    conn: sqlite3.Connection, state_dir: Path, tenant_id: str, dataset_id: str, start_job: Any
) -> tuple[dict[str, Any], int]:
    """(profile, 200) when cached; else (the analyze job, 202), starting it if none is under way."""
    done = q.latest_for_input(conn, tenant_id, "analyze", dataset_id, ("succeeded",))
    if done is not None:
        return artifact_json(conn, state_dir, done, "profile.json") | {"job_id": done["id"]}, 200
    pending = q.latest_for_input(conn, tenant_id, "analyze", dataset_id, ("created", "queued", "running"))
    if pending is not None:
        from appliance.jobs.service import view

        return view(pending), 202
    return start_job({"kind": "analyze", "inputs": [dataset_id], "params": {}}), 202


def fit_of(conn: sqlite3.Connection, state_dir: Path, tenant_id: str, job_id: str, field: str) -> dict[str, Any]:
    job = q.job(conn, job_id, tenant_id)
    if job is None or job["kind"] != "fit":
        raise errors.validation(field, f"{job_id!r} is not a fit job of yours")
    if job["status"] != "succeeded":
        raise AppError(errors.CONFLICT, f"fit job {job_id} is {job['status']}, not succeeded")
    return artifact_json(conn, state_dir, job, "fit.json")
