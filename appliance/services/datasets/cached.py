"""Results computed once by a job and then served from its artifact: a dataset's profile, a fit.

GET /v1/datasets/{id}/profile answers the newest succeeded `analyze` job's profile; when there is
none the API starts one (free: it generates no rows) and answers 202 with the job to follow. The answer
is capped at `[datasets] max_answer_bytes`: past it the profile keeps the columns that fit, in
order, and says so; the full profile stays in the job's `profile.json` artifact.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from appliance import errors
from appliance.errors import AppError
from appliance.services.datasets.preview import json_size, truncation
from appliance.store import jobs as jobs_store
from appliance.store.blobs import BlobStore


def artifact_json(conn: sqlite3.Connection, state_dir: Path, job: dict[str, Any], name: str) -> dict[str, Any]:
    row = jobs_store.artifact_named(conn, job["id"], name)
    if row is None:
        raise AppError(errors.CONFLICT, f"job {job['id']} has no {name} artifact")
    with BlobStore(state_dir).open(row["blake3"]) as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def capped(profile: dict[str, Any], limit: int) -> dict[str, Any]:
    """``profile`` within ``limit`` bytes of JSON: the columns that fit, in order, and a note of the cut."""
    if json_size(profile) <= limit:
        return profile | {"truncated": False, "truncation": None}
    columns = profile.get("columns", [])
    rest = {k: v for k, v in profile.items() if k != "columns"}
    dropped = []
    if json_size(rest) > limit // 2:
        rest["inferred_schema"] = None
        dropped.append("the inferred schema (see the job's schema.json artifact)")
    budget = limit - json_size(rest) - 512
    kept: list[dict[str, Any]] = []
    for column in columns:
        budget -= json_size(column) + 1
        if budget < 0:
            break
        kept.append(column)
    if len(kept) < len(columns):
        dropped.append(f"columns {len(kept) + 1} to {len(columns)} of {len(columns)}")
    message = f"past {limit:,} bytes ([datasets] max_answer_bytes), left out: {'; '.join(dropped)}"
    return rest | {"columns": kept, "truncated": True, "truncation": truncation(limit, message)}


def profile_or_pending(
    conn: sqlite3.Connection, state_dir: Path, tenant_id: str, dataset_id: str, max_bytes: int
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(profile, None) when a succeeded analyze job has one; else (None, the analyze job under way or None).

    Starting a job when neither exists is the caller's (the API's): services sit below the job engine.
    """
    done = jobs_store.latest_for_input(conn, tenant_id, "analyze", dataset_id, ("succeeded",))
    if done is not None:
        return capped(artifact_json(conn, state_dir, done, "profile.json") | {"job_id": done["id"]}, max_bytes), None
    return None, jobs_store.latest_for_input(conn, tenant_id, "analyze", dataset_id, ("created", "queued", "running"))


def fit_of(conn: sqlite3.Connection, state_dir: Path, tenant_id: str, job_id: str, field: str) -> dict[str, Any]:
    job = jobs_store.get_job(conn, job_id, tenant_id)
    if job is None or job["kind"] != "fit":
        raise errors.validation(field, f"{job_id!r} is not a fit job of yours")
    if job["status"] != "succeeded":
        raise AppError(errors.CONFLICT, f"fit job {job_id} is {job['status']}, not succeeded")
    return artifact_json(conn, state_dir, job, "fit.json")
