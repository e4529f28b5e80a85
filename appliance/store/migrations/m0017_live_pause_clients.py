"""Pausing a live run, and the clients its endpoints serve (issue #17).

- ``scada_commands`` takes ``pause`` and ``resume`` too; SQLite cannot change a CHECK in place, so
  the table is rebuilt with its rows (as in migration 14).
- ``scada_runs.paused_at``: when the run was paused (NULL while it steps). The API sets it in the
  transaction that checks the transition and leaves the command for the run's worker, so two
  requests cannot both pause (or both resume) one run.
- ``scada_endpoints.clients``: how many clients the endpoint has connected now (Modbus TCP
  connections, OPC UA sessions), as the run's worker last counted them; 0 for runs from before.
"""

from __future__ import annotations

import sqlite3

SQL = """
CREATE TABLE scada_commands_new (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES scada_runs(id),
    command TEXT NOT NULL CHECK (command IN ('stop', 'attack', 'write', 'pause', 'resume')),
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    done_at TEXT,
    result TEXT,
    error TEXT
);
INSERT INTO scada_commands_new (seq, run_id, command, payload, created_at, done_at, result, error)
    SELECT seq, run_id, command, payload, created_at, done_at, result, error FROM scada_commands;
DROP TABLE scada_commands;
ALTER TABLE scada_commands_new RENAME TO scada_commands;
CREATE INDEX scada_commands_pending ON scada_commands(run_id, done_at);
ALTER TABLE scada_runs ADD COLUMN paused_at TEXT;
ALTER TABLE scada_endpoints ADD COLUMN clients INTEGER NOT NULL DEFAULT 0
"""


def up(conn: sqlite3.Connection) -> None:
    for statement in SQL.split(";"):
        if statement.strip():
            conn.execute(statement)
