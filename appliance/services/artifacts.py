"""Job outputs as the API shows them: one artifact, a page of them, and where its bytes are."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from appliance import errors
from appliance.store import jobs as jobs_store
from appliance.store import pages
from appliance.store.blobs import BlobStore


def view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: row[k] for k in ("id", "job_id", "name", "media_type", "size", "blake3", "created_at")},
        "_links": {"self": f"/v1/artifacts/{row['id']}", "download": f"/v1/artifacts/{row['id']}/download"},
    }


def require(conn: sqlite3.Connection, tenant_id: str, artifact_id: str) -> dict[str, Any]:
    row = jobs_store.get_artifact(conn, artifact_id, tenant_id)
    if row is None:
        raise errors.not_found("artifact", artifact_id)
    return row


def listing(
    conn: sqlite3.Connection, tenant_id: str, job_id: str | None, limit: int, after: str | None
) -> dict[str, Any]:
    """One page of the tenant's artifacts, oldest first (one job's when ``job_id`` is given)."""
    where = {"tenant_id": tenant_id, "job_id": job_id}
    return pages.page(conn, "artifacts", where, limit=limit, after=after).listing(view)


def blob_path(state_dir: Path, artifact_id: str, row: dict[str, Any]) -> Path:
    """The artifact's bytes on disk; 503 UNAVAILABLE when the blob is missing."""
    path = BlobStore(state_dir).path(row["blake3"])
    if not path.exists():
        raise errors.AppError(
            errors.UNAVAILABLE,
            f"the blob of {artifact_id} is missing from the store",
            hint="Run a `verify` job on it and tell your administrator.",
        )
    return path
