"""Job outputs as the API shows them: one artifact, a page of them, and where its bytes are.

Each artifact carries ``artifact_type``, what the file is for a client sorting a job's outputs
(the published SDK prints ``a.artifact_type``). It is derived from the name and media type the
kind gave the artifact, so it needs no column and holds for artifacts made before it existed:

- ``rows``: generated or recorded tables (Parquet, CSV, JSON Lines);
- ``model``: a trained model (``model.pkl`` and other binary model files);
- ``plan``: a fabricate plan (``plan.json``);
- ``manifest``: what a simulation or live run produced and how (``manifest.json``);
- ``schema``: descriptions of data (``schema.json``, ``metadata.json``, ``world_state.json``,
  register and node maps);
- ``report``: profiles, fits, quality and verify reports (other JSON and text);
- ``bundle``: archives (zip, tar);
- ``other``: anything else.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from appliance import errors
from appliance.store import jobs as jobs_store
from appliance.store import pages
from appliance.store.blobs import BlobStore

ARTIFACT_TYPES = ("rows", "model", "plan", "manifest", "schema", "report", "bundle", "other")
_ROW_MEDIA_TYPES = frozenset({"application/vnd.apache.parquet", "text/csv", "application/jsonl"})
_BUNDLE_MEDIA_TYPES = frozenset({"application/zip", "application/x-tar", "application/gzip"})
_NAMED = {
    "plan.json": "plan",
    "manifest.json": "manifest",
    "schema.json": "schema",
    "metadata.json": "schema",
    "world_state.json": "schema",
    "register-map.json": "schema",
    "node-map.json": "schema",
}


def artifact_type(name: str, media_type: str) -> str:
    """One of :data:`ARTIFACT_TYPES` for an artifact called ``name`` of ``media_type``."""
    lowered = name.lower()
    if media_type in _ROW_MEDIA_TYPES or lowered.endswith((".parquet", ".csv", ".jsonl")):
        return "rows"
    if lowered in _NAMED:
        return _NAMED[lowered]
    if media_type in _BUNDLE_MEDIA_TYPES or lowered.endswith((".zip", ".tar", ".tar.gz", ".tgz")):
        return "bundle"
    if lowered.startswith("model") or lowered.endswith((".pkl", ".pt")):
        return "model"
    if media_type == "application/json" or media_type.startswith("text/"):
        return "report"
    return "other"


def view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: row[k] for k in ("id", "job_id", "name", "media_type", "size", "blake3", "created_at")},
        "artifact_type": artifact_type(row["name"], row["media_type"]),
        "content_hash": row["blake3"],
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
