"""Queries for the alarms of live runs: raised and cleared by the run's worker, acknowledged and
shelved by operators (through the API or the pages, on the same service)."""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.store.db import fetch_all, fetch_one

FILTERS = ("run_id", "tag", "priority")


def raise_alarm(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    cols = ("id", "run_id", "tenant_id", "tag", "description", "priority", "raised_at", "scan", "active_attacks")
    conn.execute(
        f"INSERT INTO scada_alarms ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        tuple(row[c] for c in cols),
    )


def clear_alarm(conn: sqlite3.Connection, run_id: str, tag: str, at: str) -> None:
    conn.execute(
        "UPDATE scada_alarms SET cleared_at = ? WHERE run_id = ? AND tag = ? AND cleared_at IS NULL", (at, run_id, tag)
    )


def clear_run(conn: sqlite3.Connection, run_id: str, at: str) -> None:
    """The run has ended: nothing of it is in alarm any more."""
    conn.execute("UPDATE scada_alarms SET cleared_at = ? WHERE run_id = ? AND cleared_at IS NULL", (at, run_id))


def get_alarm(conn: sqlite3.Connection, tenant_id: str, alarm_id: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM scada_alarms WHERE id = ? AND tenant_id = ?", (alarm_id, tenant_id))


def ack(conn: sqlite3.Connection, alarm_id: str, at: str, by: str, note: str) -> None:
    conn.execute(
        "UPDATE scada_alarms SET acked_at = ?, acked_by = ?, ack_note = ? WHERE id = ?", (at, by, note, alarm_id)
    )


def shelve(conn: sqlite3.Connection, alarm_id: str, until: str, by: str, note: str) -> None:
    conn.execute(
        "UPDATE scada_alarms SET shelved_until = ?, shelved_by = ?, shelve_note = ? WHERE id = ?",
        (until, by, note, alarm_id),
    )


def active(conn: sqlite3.Connection, tenant_id: str, run_id: str | None, limit: int) -> list[dict[str, Any]]:
    """Alarms still in alarm, or cleared and not yet acknowledged (ISA-18.2), by priority, then oldest first."""
    sql = "SELECT * FROM scada_alarms WHERE tenant_id = ? AND (cleared_at IS NULL OR acked_at IS NULL)"
    params: list[Any] = [tenant_id]
    if run_id is not None:
        sql += " AND run_id = ?"
        params.append(run_id)
    sql += " ORDER BY priority, raised_at, id LIMIT ?"
    return fetch_all(conn, sql, (*params, limit))


def history(
    conn: sqlite3.Connection,
    tenant_id: str,
    filters: dict[str, Any],
    since: str | None,
    until: str | None,
    limit: int,
    after: str | None,
) -> list[dict[str, Any]]:
    """Alarms newest first, filtered by run, tag and priority, raised in [since, until); ``limit``+1 rows."""
    sql = "SELECT * FROM scada_alarms WHERE tenant_id = ?"
    params: list[Any] = [tenant_id]
    for name in FILTERS:
        if filters.get(name) is not None:
            sql += f" AND {name} = ?"
            params.append(filters[name])
    if since is not None:
        sql += " AND raised_at >= ?"
        params.append(since)
    if until is not None:
        sql += " AND raised_at < ?"
        params.append(until)
    if after is not None:
        sql += " AND id < ?"
        params.append(after)
    sql += " ORDER BY id DESC LIMIT ?"
    return fetch_all(conn, sql, (*params, limit + 1))


def active_counts(conn: sqlite3.Connection, tenant_id: str) -> dict[str, int]:
    """Per run, how many alarms are on the active list (in alarm, or cleared and not acknowledged)."""
    rows = conn.execute(
        "SELECT run_id, COUNT(*) FROM scada_alarms WHERE tenant_id = ? AND (cleared_at IS NULL OR acked_at IS NULL)"
        " GROUP BY run_id",
        (tenant_id,),
    ).fetchall()
    return {str(row[0]): int(row[1]) for row in rows}
