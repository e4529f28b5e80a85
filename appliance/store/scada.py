"""Queries for live SCADA runs, their commands and their latest values."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from appliance import jsonsafe
from appliance.store.db import fetch_all, fetch_one


def insert_run(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    cols = (
        "id",
        "tenant_id",
        "job_id",
        "plant",
        "host",
        "modbus_port",
        "unit_id",
        "opcua_port",
        "opcua_security",
        "created_at",
    )
    conn.execute(
        f"INSERT INTO scada_runs ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        tuple(row[c] for c in cols),
    )


def run(conn: sqlite3.Connection, run_id: str, tenant_id: str | None = None) -> dict[str, Any] | None:
    if tenant_id is None:
        return fetch_one(conn, "SELECT * FROM scada_runs WHERE id = ?", (run_id,))
    return fetch_one(conn, "SELECT * FROM scada_runs WHERE id = ? AND tenant_id = ?", (run_id, tenant_id))


def ports_in_use(conn: sqlite3.Connection) -> set[int]:
    """Ports held by runs whose job has not finished."""
    rows = conn.execute(
        "SELECT r.modbus_port, r.opcua_port FROM scada_runs r JOIN jobs j ON j.id = r.job_id"
        " WHERE j.status IN ('created', 'queued', 'running')"
    ).fetchall()
    return {port for row in rows for port in row if port is not None}


def add_command(conn: sqlite3.Connection, run_id: str, command: str, payload: dict[str, Any], at: str) -> int:
    cur = conn.execute(
        "INSERT INTO scada_commands (run_id, command, payload, created_at) VALUES (?, ?, ?, ?)",
        (run_id, command, json.dumps(payload), at),
    )
    return int(cur.lastrowid or 0)


def command(conn: sqlite3.Connection, seq: int) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM scada_commands WHERE seq = ?", (seq,))


def pending_commands(conn: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    return fetch_all(conn, "SELECT * FROM scada_commands WHERE run_id = ? AND done_at IS NULL ORDER BY seq", (run_id,))


def finish_command(conn: sqlite3.Connection, seq: int, at: str, result: Any, error: str | None) -> None:
    conn.execute(
        "UPDATE scada_commands SET done_at = ?, result = ?, error = ? WHERE seq = ?",
        (at, json.dumps(result) if result is not None else None, error, seq),
    )


def put_values(conn: sqlite3.Connection, run_id: str, seq: int, at: str, data: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO scada_values (run_id, seq, at, data) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(run_id) DO UPDATE SET seq = excluded.seq, at = excluded.at, data = excluded.data",
        (run_id, seq, at, jsonsafe.dumps(data, separators=(",", ":"))),  # streamed as-is over SSE
    )


def values(conn: sqlite3.Connection, run_id: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM scada_values WHERE run_id = ?", (run_id,))
