"""Queries for the hash-chained audit log."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

AUDIT_COLUMNS = (
    "at",
    "tenant_id",
    "caller",
    "scope",
    "method",
    "path",
    "status",
    "body_blake3",
    "correlation_id",
)


def last_hash(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return row[0] if row else None


def insert_entry(conn: sqlite3.Connection, entry: dict[str, Any]) -> int:
    cols = (*AUDIT_COLUMNS, "prev_hash", "entry_hash")
    cur = conn.execute(
        f"INSERT INTO audit_log ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        tuple(entry[c] for c in cols),
    )
    return int(cur.lastrowid or 0)


def iter_entries(conn: sqlite3.Connection, batch: int = 5000) -> Iterator[dict[str, Any]]:
    last = 0
    while True:
        rows = conn.execute("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?", (last, batch)).fetchall()
        if not rows:
            return
        for row in rows:
            yield dict(row)
        last = rows[-1]["seq"]


def search(
    conn: sqlite3.Connection, tenant_id: str, text: str, status: int | None, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """A tenant's entries, newest first, whose path, caller, method or correlation id contains
    ``text`` (case-insensitive), with ``status`` when given, older than seq ``before`` when given."""
    clauses: list[str] = ["tenant_id = ?"]
    params: list[Any] = [tenant_id]
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(
            "(path LIKE ? ESCAPE '\\' OR caller LIKE ? ESCAPE '\\' OR method LIKE ? ESCAPE '\\'"
            " OR correlation_id LIKE ? ESCAPE '\\')"
        )
        params.extend([like] * 4)
    if status is not None:
        clauses.append("status = ?")
        params.append(status)
    if before is not None:
        clauses.append("seq < ?")
        params.append(before)
    rows = conn.execute(
        f"SELECT * FROM audit_log WHERE {' AND '.join(clauses)} ORDER BY seq DESC LIMIT ?", (*params, limit)
    ).fetchall()
    return [dict(row) for row in rows]
