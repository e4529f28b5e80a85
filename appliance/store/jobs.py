"""Queries for jobs, their event journal and their artifacts."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from appliance.store import pages
from appliance.store.db import fetch_all, fetch_one
from appliance.store.pages import Page

JOB_COLUMNS = (
    "id",
    "tenant_id",
    "kind",
    "queue",
    "status",
    "description",
    "contract",
    "contract_hash",
    "estimate_micro",
    "estimate_seconds",
    "max_attempts",
    "rerun_of",
    "created_by",
    "created_at",
)


def insert_job(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        f"INSERT INTO jobs ({', '.join(JOB_COLUMNS)}) VALUES ({', '.join('?' for _ in JOB_COLUMNS)})",
        tuple(row[c] for c in JOB_COLUMNS),
    )


def get_job(conn: sqlite3.Connection, job_id: str, tenant_id: str | None = None) -> dict[str, Any] | None:
    if tenant_id is None:
        return fetch_one(conn, "SELECT * FROM jobs WHERE id = ?", (job_id,))
    return fetch_one(conn, "SELECT * FROM jobs WHERE id = ? AND tenant_id = ?", (job_id, tenant_id))


def page_jobs(
    conn: sqlite3.Connection,
    tenant_id: str,
    *,
    status: str | None,
    kind: str | None,
    limit: int,
    after: str | None,
    newest_first: bool,
) -> Page:
    """One page of the tenant's jobs, filtered by ``status`` and ``kind`` when given; keyset-paged
    on the id (which sorts by time) in either direction, over the ``jobs_tenant`` index."""
    where = {"tenant_id": tenant_id, "status": status, "kind": kind}
    return pages.page(conn, "jobs", where, limit=limit, after=after, descending=newest_first)


def update_job(conn: sqlite3.Connection, job_id: str, fields: dict[str, Any]) -> None:
    sets = ", ".join(f"{name} = ?" for name in fields)
    conn.execute(f"UPDATE jobs SET {sets} WHERE id = ?", (*fields.values(), job_id))


def add_event(conn: sqlite3.Connection, job_id: str, at: str, event_type: str, data: dict[str, Any]) -> int:
    cur = conn.execute(
        "INSERT INTO job_events (job_id, at, type, data) VALUES (?, ?, ?, ?)",
        (job_id, at, event_type, json.dumps(data, separators=(",", ":"))),
    )
    return int(cur.lastrowid or 0)


def last_event_seq(conn: sqlite3.Connection) -> int:
    """The newest journal row's seq, over all jobs (seq increases across the whole journal)."""
    row = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM job_events").fetchone()
    return int(row[0])


def journal_since(conn: sqlite3.Connection, after_seq: int, limit: int = 5000) -> list[dict[str, Any]]:
    """Journal rows of every job written after ``after_seq``, oldest first (one range read on the key)."""
    return fetch_all(conn, "SELECT * FROM job_events WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit))


def statuses(conn: sqlite3.Connection, job_ids: list[str]) -> dict[str, str]:
    marks = ",".join("?" * len(job_ids))
    rows = conn.execute(f"SELECT id, status FROM jobs WHERE id IN ({marks})", job_ids).fetchall()
    return {row[0]: row[1] for row in rows}


def owners(conn: sqlite3.Connection, job_ids: list[str]) -> dict[str, dict[str, str]]:
    """Each job's tenant and kind, for the tenant-wide event stream."""
    marks = ",".join("?" * len(job_ids))
    rows = conn.execute(f"SELECT id, tenant_id, kind FROM jobs WHERE id IN ({marks})", job_ids).fetchall()
    return {row[0]: {"tenant_id": row[1], "kind": row[2]} for row in rows}


def events_after(conn: sqlite3.Connection, job_id: str, after_seq: int, limit: int = 500) -> list[dict[str, Any]]:
    return fetch_all(
        conn, "SELECT * FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?", (job_id, after_seq, limit)
    )


def expired_leases(conn: sqlite3.Connection, now: float, queue: str | None) -> list[dict[str, Any]]:
    if queue is None:
        return fetch_all(conn, "SELECT * FROM jobs WHERE status = 'running' AND lease_expires < ?", (now,))
    return fetch_all(
        conn, "SELECT * FROM jobs WHERE status = 'running' AND lease_expires < ? AND queue = ?", (now, queue)
    )


def waiting_jobs(conn: sqlite3.Connection, queue: str, moved_before: str) -> list[dict[str, Any]]:
    """Jobs on ``queue`` still `created` or `queued` whose last status move is at or before
    ``moved_before`` (RFC 3339, millisecond resolution, so the bound is inclusive: a move in the
    sweep's own millisecond counts): the candidates for a re-enqueue when their queue task is gone."""
    return fetch_all(
        conn,
        "SELECT jobs.* FROM jobs WHERE status IN ('created', 'queued') AND queue = ?"
        " AND (SELECT MAX(at) FROM job_events WHERE job_id = jobs.id AND type = 'status') <= ?",
        (queue, moved_before),
    )


def renew_lease(conn: sqlite3.Connection, job_id: str, worker: str, expires: float) -> tuple[bool, bool]:
    """Extend the lease if this worker still holds it; returns (held, cancel_requested)."""
    cur = conn.execute(
        "UPDATE jobs SET lease_expires = ? WHERE id = ? AND worker = ? AND status = 'running'",
        (expires, job_id, worker),
    )
    row = conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return cur.rowcount == 1, bool(row and row[0])


def cancel_requested(conn: sqlite3.Connection, job_id: str) -> bool:
    """Whether a cancel was asked for ``job_id`` (False for a job that is gone)."""
    row = conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return bool(row and row[0])


def insert_artifact(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO artifacts (id, tenant_id, job_id, name, media_type, size, blake3, created_at)"
        " VALUES (:id, :tenant_id, :job_id, :name, :media_type, :size, :blake3, :created_at)",
        row,
    )


def get_artifact(conn: sqlite3.Connection, artifact_id: str, tenant_id: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM artifacts WHERE id = ? AND tenant_id = ?", (artifact_id, tenant_id))


def artifacts_of_job(conn: sqlite3.Connection, job_id: str) -> list[dict[str, Any]]:
    return fetch_all(conn, "SELECT * FROM artifacts WHERE job_id = ? ORDER BY id", (job_id,))


def latest_for_input(
    conn: sqlite3.Connection, tenant_id: str, kind: str, dataset_id: str, statuses: tuple[str, ...]
) -> dict[str, Any] | None:
    """The newest job of ``kind`` over ``dataset_id`` in one of ``statuses``."""
    marks = ", ".join("?" for _ in statuses)
    return fetch_one(
        conn,
        f"SELECT jobs.* FROM jobs, json_each(jobs.contract, '$.inputs') AS input WHERE jobs.tenant_id = ?"
        f" AND jobs.kind = ? AND jobs.status IN ({marks}) AND json_extract(input.value, '$.dataset_id') = ?"
        " ORDER BY jobs.id DESC LIMIT 1",
        (tenant_id, kind, *statuses, dataset_id),
    )


def artifact_named(conn: sqlite3.Connection, job_id: str, name: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM artifacts WHERE job_id = ? AND name = ?", (job_id, name))
