"""Queries for datasets."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from appliance.store import pages
from appliance.store.db import fetch_one
from appliance.store.pages import Page


def _decode(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is not None:
        row["columns"] = json.loads(row["columns"]) if row["columns"] else []
    return row


def insert_dataset(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO datasets (id, tenant_id, name, format, media_type, size, blake3, rows, columns, source_job_id,"
        " created_at) VALUES (:id, :tenant_id, :name, :format, :media_type, :size, :blake3, :rows, :columns,"
        " :source_job_id, :created_at)",
        {**row, "columns": json.dumps(row["columns"])},
    )


def get_dataset(conn: sqlite3.Connection, dataset_id: str, tenant_id: str) -> dict[str, Any] | None:
    return _decode(fetch_one(conn, "SELECT * FROM datasets WHERE id = ? AND tenant_id = ?", (dataset_id, tenant_id)))


def page_datasets(conn: sqlite3.Connection, tenant_id: str, limit: int, after: str | None) -> Page:
    result = pages.page(conn, "datasets", {"tenant_id": tenant_id}, limit=limit, after=after)
    return Page([r for r in map(_decode, result.data) if r is not None], result.has_more)


def delete_dataset(conn: sqlite3.Connection, dataset_id: str) -> None:
    conn.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,))


def active_jobs_using(conn: sqlite3.Connection, dataset_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT jobs.id FROM jobs, json_each(jobs.contract, '$.inputs') AS input"
        " WHERE jobs.status IN ('created', 'queued', 'running')"
        " AND json_extract(input.value, '$.dataset_id') = ?",
        (dataset_id,),
    ).fetchall()
    return [r[0] for r in rows]
