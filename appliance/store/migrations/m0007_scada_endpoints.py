"""Live runs' endpoints: one row per protocol a run serves, with the address it binds and whether
it accepts connections yet, so a run reads `running` only once every endpoint does (the job's own
`running` comes earlier, when a worker claims it)."""

from __future__ import annotations

import sqlite3

SQL = """
CREATE TABLE scada_endpoints (
    run_id TEXT NOT NULL REFERENCES scada_runs(id),
    protocol TEXT NOT NULL CHECK (protocol IN ('modbus', 'opcua')),
    address TEXT NOT NULL,
    port INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('starting', 'accepting', 'failed')),
    error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (run_id, protocol)
);
"""


def up(conn: sqlite3.Connection) -> None:
    conn.execute(SQL)
