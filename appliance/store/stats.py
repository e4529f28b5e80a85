"""Counts for /metrics, read straight from the database."""

from __future__ import annotations

import sqlite3


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM tenants),"
        " (SELECT count(*) FROM api_keys WHERE revoked_at IS NULL),"
        " (SELECT count(*) FROM users),"
        " (SELECT coalesce(max(seq), 0) FROM audit_log)"
    ).fetchone()
    return {"tenants": row[0], "api_keys_active": row[1], "users": row[2], "audit_entries": row[3]}


def ping(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])
