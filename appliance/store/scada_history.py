"""A live run's values once a second (``scada_history``), for trends of a run still running."""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.store.db import fetch_one

KEPT_MS = 86_400_000  # one day per run; the run's full record is its telemetry artifact


def append(conn: sqlite3.Connection, run_id: str, t_ms: int, data: bytes, attacks: str | None, trim: bool) -> None:
    conn.execute(
        "INSERT INTO scada_history (run_id, t_ms, data, attacks) VALUES (?, ?, ?, ?)", (run_id, t_ms, data, attacks)
    )
    if trim:
        conn.execute("DELETE FROM scada_history WHERE run_id = ? AND t_ms < ?", (run_id, t_ms - KEPT_MS))


def append_minute(
    conn: sqlite3.Connection, run_id: str, t_ms: int, n: int, lo: bytes, hi: bytes, attacks: str | None
) -> None:
    """One minute's rollup (``t_ms`` is the minute's start), written when the minute is over."""
    conn.execute(
        "INSERT OR REPLACE INTO scada_history_1m (run_id, t_ms, n, data_min, data_max, attacks)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (run_id, t_ms, n, lo, hi, attacks),
    )
    conn.execute("DELETE FROM scada_history_1m WHERE run_id = ? AND t_ms < ?", (run_id, t_ms - KEPT_MS))


def minutes(
    conn: sqlite3.Connection, run_id: str, start_ms: int, end_ms: int
) -> list[tuple[int, int, bytes, bytes, str | None]]:
    """Rollups ``(t_ms, n, data_min, data_max, attacks)`` of the minutes that start in [start_ms, end_ms]."""
    cur = conn.cursor()
    cur.row_factory = None
    cur.execute(
        "SELECT t_ms, n, data_min, data_max, attacks FROM scada_history_1m WHERE run_id = ? AND t_ms BETWEEN ? AND ?"
        " ORDER BY t_ms",
        (run_id, start_ms, end_ms),
    )
    return cur.fetchall()


def span(conn: sqlite3.Connection, run_id: str) -> dict[str, Any] | None:
    """The first and last time held for the run, and how many rows (None when it has none)."""
    row = fetch_one(
        conn,
        "SELECT MIN(t_ms) AS first, MAX(t_ms) AS last, COUNT(*) AS n FROM scada_history WHERE run_id = ?",
        (run_id,),
    )
    return row if row is not None and row["n"] else None


def window(
    conn: sqlite3.Connection, run_id: str, start_ms: int, end_ms: int, limit: int
) -> list[tuple[int, bytes, str | None]]:
    """Rows ``(t_ms, data, attacks)`` with start_ms <= t_ms <= end_ms, oldest first, at most ``limit``.
    Plain tuples, not dicts: a day is 86,400 rows, and building a dict for each costs more than the read."""
    cur = conn.cursor()
    cur.row_factory = None
    cur.execute(
        "SELECT t_ms, data, attacks FROM scada_history WHERE run_id = ? AND t_ms BETWEEN ? AND ? ORDER BY t_ms LIMIT ?",
        (run_id, start_ms, end_ms, limit),
    )
    return cur.fetchall()


def prune_ended(conn: sqlite3.Connection, ended_before: str) -> int:
    """Drop the history of runs whose job ended before ``ended_before`` (RFC 3339); rows removed."""
    ended = (
        "SELECT r.id FROM scada_runs r JOIN jobs j ON j.id = r.job_id"
        " WHERE j.status IN ('succeeded', 'failed', 'canceled') AND j.finished_at < ?"
    )
    removed = conn.execute(f"DELETE FROM scada_history WHERE run_id IN ({ended})", (ended_before,)).rowcount
    conn.execute(f"DELETE FROM scada_history_1m WHERE run_id IN ({ended})", (ended_before,))
    return int(removed)
