"""Queries for the credit ledger and tenant balances."""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.store.db import fetch_all


def balance(conn: sqlite3.Connection, tenant_id: str) -> int | None:
    row = conn.execute("SELECT credits_micro FROM tenants WHERE id = ?", (tenant_id,)).fetchone()
    return int(row[0]) if row else None


def add_entry(
    conn: sqlite3.Connection,
    entry_id: str,
    tenant_id: str,
    delta: int,
    reason: str,
    job_id: str | None,
    note: str,
    at: str,
) -> None:
    conn.execute(
        "INSERT INTO credit_ledger (id, tenant_id, delta_micro, reason, job_id, note, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (entry_id, tenant_id, delta, reason, job_id, note, at),
    )
    conn.execute("UPDATE tenants SET credits_micro = credits_micro + ? WHERE id = ?", (delta, tenant_id))


def usage_by_kind(conn: sqlite3.Connection, tenant_id: str) -> list[dict[str, Any]]:
    return fetch_all(
        conn,
        "SELECT note, count(*) AS jobs, -sum(delta_micro) AS micro FROM credit_ledger"
        " WHERE tenant_id = ? AND reason = 'job' GROUP BY note ORDER BY note",
        (tenant_id,),
    )
