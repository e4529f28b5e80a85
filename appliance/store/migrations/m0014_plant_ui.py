"""What the plant pages of the web UI need from a live run (issue #17).

- ``scada_commands`` takes ``write`` too: a setpoint written from the UI or the API goes to the
  worker like a stop or an attack, and the worker answers with the value the plant took or why it
  refused it. SQLite cannot change a CHECK in place, so the table is rebuilt with its rows.
- ``scada_alarms``: each raise of an alarm tag, its clear, and what operators did about it
  (acknowledged with a note, shelved until a time), so the alarm list, its history and the CSV
  come from one place for the API and the pages.
- ``scada_history``: one row a second of every value of a run (a packed float64 array in the
  plant's tag order, and the attacks active then), trimmed to the last day, so a trend can show
  a window of a live run without reading its recording, which is only written at the end.
- ``scada_history_1m``: the same values rolled up per minute (each tag's min and max), so a view
  of hours or a day reads 1,440 rows instead of 86,400 and still shows every spike.
"""

from __future__ import annotations

import sqlite3

SQL = """
CREATE TABLE scada_commands_new (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES scada_runs(id),
    command TEXT NOT NULL CHECK (command IN ('stop', 'attack', 'write')),
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
CREATE TABLE scada_alarms (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES scada_runs(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    tag TEXT NOT NULL,
    description TEXT NOT NULL,
    priority INTEGER NOT NULL,
    raised_at TEXT NOT NULL,
    scan INTEGER,
    active_attacks TEXT NOT NULL DEFAULT '[]',
    cleared_at TEXT,
    acked_at TEXT,
    acked_by TEXT,
    ack_note TEXT,
    shelved_until TEXT,
    shelved_by TEXT,
    shelve_note TEXT
);
CREATE INDEX scada_alarms_tenant ON scada_alarms(tenant_id, id);
CREATE INDEX scada_alarms_open ON scada_alarms(run_id, tag, cleared_at);
CREATE TABLE scada_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES scada_runs(id),
    t_ms INTEGER NOT NULL,
    data BLOB NOT NULL,
    attacks TEXT
);
CREATE INDEX scada_history_run ON scada_history(run_id, t_ms);
CREATE TABLE scada_history_1m (
    run_id TEXT NOT NULL REFERENCES scada_runs(id),
    t_ms INTEGER NOT NULL,
    n INTEGER NOT NULL,
    data_min BLOB NOT NULL,
    data_max BLOB NOT NULL,
    attacks TEXT,
    PRIMARY KEY (run_id, t_ms)
)
"""


def up(conn: sqlite3.Connection) -> None:
    for statement in SQL.split(";"):
        if statement.strip():
            conn.execute(statement)
