"""Queries for the web UI's server-side sessions (table ``ui_sessions``, migration 13)."""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.store.db import fetch_one


def insert_session(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO ui_sessions (id, user_id, token_hash, csrf_token, created_at, last_seen_at, expires_at)"
        " VALUES (:id, :user_id, :token_hash, :csrf_token, :created_at, :last_seen_at, :expires_at)",
        row,
    )


def get_session_by_hash(conn: sqlite3.Connection, token_hash: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM ui_sessions WHERE token_hash = ?", (token_hash,))


def touch_session(conn: sqlite3.Connection, session_id: str, at: float) -> None:
    conn.execute(
        "UPDATE ui_sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?", (at, session_id, at)
    )


def revoke_session(conn: sqlite3.Connection, session_id: str, at: str) -> None:
    conn.execute("UPDATE ui_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (at, session_id))


def revoke_user_sessions(conn: sqlite3.Connection, user_id: str, at: str) -> int:
    cur = conn.execute("UPDATE ui_sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", (at, user_id))
    return cur.rowcount


def delete_ended_sessions(conn: sqlite3.Connection, before: float) -> int:
    """Rows that can no longer authenticate anything: past their absolute end, or revoked."""
    cur = conn.execute("DELETE FROM ui_sessions WHERE expires_at < ? OR revoked_at IS NOT NULL", (before,))
    return cur.rowcount
