"""Whether a live run's Modbus server takes writes. Modbus has no authentication, so writes are an
explicit choice made when the run starts, and the run shows it; runs from before this column took
writes, which is what they record."""

from __future__ import annotations

import sqlite3


def up(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE scada_runs ADD COLUMN modbus_writes INTEGER NOT NULL DEFAULT 1")
