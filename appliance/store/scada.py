"""Queries for live SCADA runs, their endpoints, their commands, and their latest and recent values.

A run is *active* while its job is created, queued or running, or while its row is still being
submitted (no job yet, and younger than the cut-off the caller gives: a submit that crashed half-way
must not hold a slot or a port for ever). Counting active runs and inserting a new one happen in
the caller's one `BEGIN IMMEDIATE` transaction, so two submits cannot both take the last slot.
"""

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
        "modbus_writes",
        "opcua_port",
        "opcua_security",
        "created_at",
    )
    conn.execute(
        f"INSERT INTO scada_runs ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        tuple(row[c] for c in cols),
    )


def set_run_job(conn: sqlite3.Connection, run_id: str, job_id: str) -> None:
    conn.execute("UPDATE scada_runs SET job_id = ? WHERE id = ?", (job_id, run_id))


def get_run(conn: sqlite3.Connection, run_id: str, tenant_id: str | None = None) -> dict[str, Any] | None:
    if tenant_id is None:
        return fetch_one(conn, "SELECT * FROM scada_runs WHERE id = ?", (run_id,))
    return fetch_one(conn, "SELECT * FROM scada_runs WHERE id = ? AND tenant_id = ?", (run_id, tenant_id))


_ACTIVE = (
    "(r.job_id IS NULL AND r.created_at >= ?)"
    " OR EXISTS (SELECT 1 FROM jobs j WHERE j.id = r.job_id AND j.status IN ('created', 'queued', 'running'))"
)


def ports_in_use(conn: sqlite3.Connection, pending_since: str) -> set[int]:
    """Ports held by active runs (see the module docstring)."""
    rows = conn.execute(f"SELECT r.modbus_port, r.opcua_port FROM scada_runs r WHERE {_ACTIVE}", (pending_since,))
    return {port for row in rows.fetchall() for port in row if port is not None}


def active_runs(conn: sqlite3.Connection, tenant_id: str, pending_since: str) -> tuple[int, int]:
    """Active runs in all, and of this tenant."""
    row = conn.execute(
        f"SELECT COUNT(*), COALESCE(SUM(r.tenant_id = ?), 0) FROM scada_runs r WHERE {_ACTIVE}",
        (tenant_id, pending_since),
    ).fetchone()
    return int(row[0]), int(row[1])


def insert_endpoint(conn: sqlite3.Connection, run_id: str, protocol: str, address: str, port: int, at: str) -> None:
    conn.execute(
        "INSERT INTO scada_endpoints (run_id, protocol, address, port, state, updated_at)"
        " VALUES (?, ?, ?, ?, 'starting', ?)",
        (run_id, protocol, address, port, at),
    )


def set_endpoint(
    conn: sqlite3.Connection, run_id: str, protocol: str, state: str, at: str, error: str | None = None
) -> None:
    conn.execute(
        "UPDATE scada_endpoints SET state = ?, error = ?, updated_at = ? WHERE run_id = ? AND protocol = ?",
        (state, error, at, run_id, protocol),
    )


def endpoints(conn: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    return fetch_all(
        conn,
        "SELECT protocol, address, port, state, error, updated_at, clients FROM scada_endpoints WHERE run_id = ?"
        " ORDER BY protocol",
        (run_id,),
    )


def set_clients(conn: sqlite3.Connection, run_id: str, counts: dict[str, int]) -> None:
    """How many clients each endpoint has connected now (the worker writes it when it changes)."""
    conn.executemany(
        "UPDATE scada_endpoints SET clients = ? WHERE run_id = ? AND protocol = ?",
        [(count, run_id, protocol) for protocol, count in counts.items()],
    )


def live_states(conn: sqlite3.Connection, tenant_id: str) -> dict[str, Any]:
    """Per running run of the tenant: since when it is paused (or None), and each
    endpoint's state and clients connected (what the overview shows besides the job's status)."""
    rows = conn.execute(
        "SELECT r.id, r.paused_at, e.protocol, e.state, e.clients FROM scada_runs r"
        " JOIN scada_endpoints e ON e.run_id = r.id"
        " WHERE r.tenant_id = ? AND EXISTS (SELECT 1 FROM jobs j WHERE j.id = r.job_id AND j.status = 'running')"
        " ORDER BY r.id, e.protocol",
        (tenant_id,),
    ).fetchall()
    out: dict[str, Any] = {}
    for run_id, paused_at, protocol, state, clients in rows:
        run = out.setdefault(str(run_id), {"paused_at": paused_at, "endpoints": {}})
        run["endpoints"][str(protocol)] = [str(state), int(clients)]
    return out


def run_states(conn: sqlite3.Connection, run_ids: list[str]) -> list[dict[str, Any]]:
    """For each of these runs that has its job: the job's status, since when the run is paused (or
    None), and one row per endpoint with its state and clients connected (``protocol`` None for a
    run without endpoints). One read for every run the event streams follow."""
    if not run_ids:
        return []
    marks = ", ".join("?" for _ in run_ids)
    return fetch_all(
        conn,
        "SELECT r.id AS run_id, j.status AS job_status, r.paused_at, e.protocol, e.state, e.clients"
        " FROM scada_runs r JOIN jobs j ON j.id = r.job_id LEFT JOIN scada_endpoints e ON e.run_id = r.id"
        f" WHERE r.id IN ({marks}) ORDER BY r.id, e.protocol",
        tuple(run_ids),
    )


def set_paused(conn: sqlite3.Connection, run_id: str, at: str | None) -> None:
    """Mark the run paused since ``at`` (None: stepping)."""
    conn.execute("UPDATE scada_runs SET paused_at = ? WHERE id = ?", (at, run_id))


def add_command(conn: sqlite3.Connection, run_id: str, command: str, payload: dict[str, Any], at: str) -> int:
    cur = conn.execute(
        "INSERT INTO scada_commands (run_id, command, payload, created_at) VALUES (?, ?, ?, ?)",
        (run_id, command, json.dumps(payload), at),
    )
    return int(cur.lastrowid or 0)


def get_command(conn: sqlite3.Connection, seq: int) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM scada_commands WHERE seq = ?", (seq,))


def pending_commands(conn: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    return fetch_all(conn, "SELECT * FROM scada_commands WHERE run_id = ? AND done_at IS NULL ORDER BY seq", (run_id,))


def finish_command(conn: sqlite3.Connection, seq: int, at: str, result: Any, error: str | None) -> None:
    conn.execute(
        "UPDATE scada_commands SET done_at = ?, result = ?, error = ? WHERE seq = ?",
        (at, json.dumps(result) if result is not None else None, error, seq),
    )


SAMPLES_KEPT = 300  # per run: 30 s at 10 samples a second, far more than a stream reader lags


def put_values(conn: sqlite3.Connection, run_id: str, seq: int, at: str, data: dict[str, Any]) -> None:
    """Publish a sample: the run's latest values, and one more row in its recent samples."""
    text = jsonsafe.dumps(data, separators=(",", ":"))  # streamed as-is over SSE
    conn.execute(
        "INSERT INTO scada_values (run_id, seq, at, data) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(run_id) DO UPDATE SET seq = excluded.seq, at = excluded.at, data = excluded.data",
        (run_id, seq, at, text),
    )
    conn.execute("INSERT INTO scada_samples (run_id, seq, at, data) VALUES (?, ?, ?, ?)", (run_id, seq, at, text))
    conn.execute("DELETE FROM scada_samples WHERE run_id = ? AND seq <= ?", (run_id, seq - SAMPLES_KEPT))


def last_sample_id(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT COALESCE(MAX(id), 0) FROM scada_samples").fetchone()
    return int(row[0])


def samples_since(conn: sqlite3.Connection, after_id: int, limit: int = 5000) -> list[dict[str, Any]]:
    """Samples of every run published after ``after_id`` (the table's own id), oldest first."""
    return fetch_all(
        conn, "SELECT id, run_id, seq, data FROM scada_samples WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
    )


def values(conn: sqlite3.Connection, run_id: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM scada_values WHERE run_id = ?", (run_id,))
