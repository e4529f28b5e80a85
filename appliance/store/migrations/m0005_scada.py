"""Live SCADA runs: the run record, the commands the API leaves for the worker, latest values."""

from __future__ import annotations

import sqlite3

SQL = """
CREATE TABLE scada_runs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    job_id TEXT UNIQUE REFERENCES jobs(id),
    plant TEXT NOT NULL,
    host TEXT NOT NULL,
    modbus_port INTEGER,
    unit_id INTEGER,
    opcua_port INTEGER,
    opcua_security TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX scada_runs_tenant ON scada_runs(tenant_id, id);
CREATE TABLE scada_commands (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES scada_runs(id),
    command TEXT NOT NULL CHECK (command IN ('stop', 'attack')),
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    done_at TEXT,
    result TEXT,
    error TEXT
);
CREATE INDEX scada_commands_pending ON scada_commands(run_id, done_at);
CREATE TABLE scada_values (
    run_id TEXT PRIMARY KEY REFERENCES scada_runs(id),
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL
);
"""


def up(conn: sqlite3.Connection) -> None:
    for statement in SQL.split(";"):
        if statement.strip():
            conn.execute(statement)
