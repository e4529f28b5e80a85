"""Model records: written by the ``train`` job, read by GET /v1/models and the synthesize kind."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from appliance import errors
from appliance.clock import now_iso
from appliance.ids import new_id
from appliance.store import models as models_store
from appliance.store.db import transaction
from appliance.store.open import open_db


def record_model(state_dir: Path, tenant_id: str, job_id: str, fields: dict[str, Any]) -> str:
    """Write (or, on a retried job, replace) the job's model row; returns the model id."""
    row = {"id": new_id("mdl"), "tenant_id": tenant_id, "job_id": job_id, "created_at": now_iso(), **fields}
    conn = open_db(state_dir)
    with transaction(conn):
        return models_store.upsert_model(conn, row)


def require(conn: sqlite3.Connection, tenant_id: str, model_id: str) -> dict[str, Any]:
    row = models_store.get_model(conn, model_id, tenant_id)
    if row is None:
        raise errors.not_found("model", model_id)
    return row


def view(conn: sqlite3.Connection, row: dict[str, Any]) -> dict[str, Any]:
    artifact_id = models_store.model_artifact_id(conn, row["job_id"], row["artifact_blake3"])
    links = {"self": f"/v1/models/{row['id']}", "job": f"/v1/jobs/{row['job_id']}"}
    if artifact_id:
        links["download"] = f"/v1/artifacts/{artifact_id}/download"
    return {
        "id": row["id"],
        "job_id": row["job_id"],
        "dataset_id": row["dataset_id"],
        "engine": row["engine"],
        "synthesizer": row["synthesizer"],
        "device": row["device"],
        "artifact_id": artifact_id,
        "artifact_blake3": row["artifact_blake3"],
        "columns": row["columns"],
        "source": row["source"],
        "training": row["training"],
        "quality_score": row["quality_score"],
        "created_at": row["created_at"],
        "_links": links,
    }


def listing(
    conn: sqlite3.Connection, tenant_id: str, dataset_id: str | None, limit: int, after: str | None
) -> dict[str, Any]:
    """One page of the tenant's models, oldest first (those trained on ``dataset_id`` when given)."""
    rows, has_more = models_store.page_models(conn, tenant_id, dataset_id, limit, after)
    data = [view(conn, r) for r in rows]
    return {"data": data, "count": len(data), "has_more": has_more, "next_after": data[-1]["id"] if has_more else None}
