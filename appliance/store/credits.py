"""Queries for the credit ledger and tenant balances."""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.store.db import fetch_all, fetch_one
from appliance.store.pages import Page


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


def tenant(conn: sqlite3.Connection, tenant_id: str) -> dict[str, Any] | None:
    """The whole tenant row: the billing summary reads its balance and, where the column exists, its tier."""
    return fetch_one(conn, "SELECT * FROM tenants WHERE id = ?", (tenant_id,))


def usage_history(conn: sqlite3.Connection, tenant_id: str, limit: int, after: str | None) -> Page:
    """One page of the tenant's job charges, oldest first, each with its job's rows and finish time.

    Ledger ids sort by time, so the cursor is the last ledger id seen (as every list's). A charge
    without a job (a one-request ``mock-data`` generation) has no rows or finish time."""
    sql = (
        "SELECT l.id, l.job_id, l.note AS kind, -l.delta_micro AS micro, l.at AS charged_at,"
        " j.rows AS rows, j.finished_at AS finished_at"
        " FROM credit_ledger AS l LEFT JOIN jobs AS j ON j.id = l.job_id"
        " WHERE l.tenant_id = ? AND l.reason = 'job'"
    )
    params: list[Any] = [tenant_id]
    if after:
        sql += " AND l.id > ?"
        params.append(after)
    sql += " ORDER BY l.id LIMIT ?"
    params.append(limit + 1)
    rows = fetch_all(conn, sql, tuple(params))
    return Page(rows[:limit], len(rows) > limit)


def period_usage(conn: sqlite3.Connection, tenant_id: str, start: str, end: str) -> dict[str, Any]:
    """Job charges with ``start <= at < end`` (RFC 3339 strings of one format compare as times)."""
    row = fetch_one(
        conn,
        "SELECT count(*) AS jobs, coalesce(-sum(l.delta_micro), 0) AS micro, coalesce(sum(j.rows), 0) AS rows"
        " FROM credit_ledger AS l LEFT JOIN jobs AS j ON j.id = l.job_id"
        " WHERE l.tenant_id = ? AND l.reason = 'job' AND l.at >= ? AND l.at < ?",
        (tenant_id, start, end),
    )
    assert row is not None  # an aggregate always answers one row
    return row
