"""Queries for stored Idempotency-Key requests and their first responses."""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.store.db import fetch_one


def get_record(conn: sqlite3.Connection, tenant_id: str, key: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM idempotency_keys WHERE tenant_id = ? AND key = ?", (tenant_id, key))


def claim(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO idempotency_keys (tenant_id, key, method, path, body_hash, state, created_at)"
        " VALUES (:tenant_id, :key, :method, :path, :body_hash, 'in_flight', :created_at)",
        row,
    )


def complete(conn: sqlite3.Connection, tenant_id: str, key: str, status: int, headers: str, body: bytes) -> None:
    conn.execute(
        "UPDATE idempotency_keys SET state = 'done', status = ?, headers = ?, body = ? WHERE tenant_id = ? AND key = ?",
        (status, headers, body, tenant_id, key),
    )


def release(conn: sqlite3.Connection, tenant_id: str, key: str) -> None:
    conn.execute("DELETE FROM idempotency_keys WHERE tenant_id = ? AND key = ?", (tenant_id, key))


def purge_older_than(conn: sqlite3.Connection, cutoff: float) -> int:
    return conn.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (cutoff,)).rowcount
