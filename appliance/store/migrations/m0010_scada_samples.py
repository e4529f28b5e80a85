"""Recent samples of a live run's values, not only the latest one.

The values stream promises every published sample (up to 10 a second) to every subscriber. With
only the latest row kept, a reader polling a little late lost the samples in between; the API's
one poller now reads every sample after the last it saw, by the table's own increasing id. Each run
keeps its last few hundred samples (the live job trims them as it writes); the run's full record
is its telemetry artifact."""

from __future__ import annotations

import sqlite3

SQL = """
CREATE TABLE scada_samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES scada_runs(id),
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX scada_samples_run ON scada_samples(run_id, seq)
"""


def up(conn: sqlite3.Connection) -> None:
    for statement in SQL.split(";"):
        if statement.strip():
            conn.execute(statement)
