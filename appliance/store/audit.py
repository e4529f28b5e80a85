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
