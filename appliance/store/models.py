"""Queries for trained models and their evaluations.

Models are read only through a join with their job in state `succeeded`: the `train` job writes its
row while it runs, and the engine commits the job's success (with its artifacts) later.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from appliance.store.db import fetch_all, fetch_one

MODEL_JSON = ("columns", "metadata", "source", "training")
VISIBLE = "SELECT models.* FROM models JOIN jobs ON jobs.id = models.job_id AND jobs.status = 'succeeded'"


def _decode(row: dict[str, Any] | None, names: tuple[str, ...]) -> dict[str, Any] | None:
    if row is not None:
        for name in names:
            row[name] = json.loads(row[name]) if row[name] else None
    return row


def upsert_model(conn: sqlite3.Connection, row: dict[str, Any]) -> str:
    """Insert the job's model, or replace it when the job runs again (a retry after a lost worker);
    the id of the first attempt is kept. Returns the model id."""
    values = {**row, **{name: json.dumps(row[name], sort_keys=True) for name in MODEL_JSON}}
    conn.execute(
        "INSERT INTO models (id, tenant_id, job_id, dataset_id, engine, synthesizer, device, artifact_blake3,"
        " columns, metadata, source, training, quality_score, created_at) VALUES (:id, :tenant_id, :job_id,"
        " :dataset_id, :engine, :synthesizer, :device, :artifact_blake3, :columns, :metadata, :source, :training,"
        " :quality_score, :created_at) ON CONFLICT(job_id) DO UPDATE SET dataset_id = excluded.dataset_id,"
        " engine = excluded.engine, synthesizer = excluded.synthesizer, device = excluded.device,"
        " artifact_blake3 = excluded.artifact_blake3, columns = excluded.columns, metadata = excluded.metadata,"
        " source = excluded.source, training = excluded.training, quality_score = excluded.quality_score",
        values,
    )
    found = conn.execute("SELECT id FROM models WHERE job_id = ?", (row["job_id"],)).fetchone()
    return str(found[0])


def get_model(conn: sqlite3.Connection, model_id: str, tenant_id: str) -> dict[str, Any] | None:
    row = fetch_one(conn, f"{VISIBLE} WHERE models.id = ? AND models.tenant_id = ?", (model_id, tenant_id))
    return _decode(row, MODEL_JSON)


def page_models(
    conn: sqlite3.Connection, tenant_id: str, dataset_id: str | None, limit: int, after: str | None
) -> tuple[list[dict[str, Any]], bool]:
    clauses, params = ["models.tenant_id = ?", "models.id > ?"], [tenant_id, after or ""]
    if dataset_id:
        clauses.append("models.dataset_id = ?")
        params.append(dataset_id)
    rows = fetch_all(conn, f"{VISIBLE} WHERE {' AND '.join(clauses)} ORDER BY models.id LIMIT ?", (*params, limit + 1))
    decoded = [r for r in (_decode(x, MODEL_JSON) for x in rows[:limit]) if r is not None]
    return decoded, len(rows) > limit


def models_of_dataset(conn: sqlite3.Connection, tenant_id: str, dataset_id: str, limit: int) -> list[dict[str, Any]]:
    rows = fetch_all(
        conn,
        f"{VISIBLE} WHERE models.tenant_id = ? AND models.dataset_id = ? ORDER BY models.id DESC LIMIT ?",
        (tenant_id, dataset_id, limit),
    )
    return [r for r in (_decode(x, MODEL_JSON) for x in rows) if r is not None]


def model_artifact_id(conn: sqlite3.Connection, job_id: str, blake3: str) -> str | None:
    row = conn.execute("SELECT id FROM artifacts WHERE job_id = ? AND blake3 = ?", (job_id, blake3)).fetchone()
    return str(row[0]) if row else None


def insert_evaluation(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO evaluations (id, tenant_id, job_id, model_id, dataset_id, target, task, metrics, created_by,"
        " created_at) VALUES (:id, :tenant_id, :job_id, :model_id, :dataset_id, :target, :task, :metrics,"
        " :created_by, :created_at)",
        {**row, "metrics": json.dumps(row["metrics"], sort_keys=True)},
    )


def get_evaluation(conn: sqlite3.Connection, evaluation_id: str, tenant_id: str) -> dict[str, Any] | None:
    row = fetch_one(conn, "SELECT * FROM evaluations WHERE id = ? AND tenant_id = ?", (evaluation_id, tenant_id))
    return _decode(row, ("metrics",))


def latest_evaluations(conn: sqlite3.Connection, tenant_id: str, model_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The newest evaluation of each model in ``model_ids``."""
    if not model_ids:
        return {}
    marks = ", ".join("?" for _ in model_ids)
    rows = fetch_all(
        conn,
        f"SELECT * FROM evaluations WHERE tenant_id = ? AND model_id IN ({marks}) ORDER BY id",
        (tenant_id, *model_ids),
    )
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        decoded = _decode(row, ("metrics",))
        if decoded is not None:
            latest[decoded["model_id"]] = decoded
    return latest
