"""Failed-login counters in their own SQLite file, ``login_throttle.db``.

Logins are checked by the API's gunicorn processes and by the sim worker's OPC UA servers, so the
counters cannot live in process memory. Like the rate-limit buckets they sit in a separate file:
a flood of bad logins then writes there and never queues on the main database's write lock, and
checking a login before its password is hashed is one indexed read. Writers queue on ``flock``
(and a thread lock) rather than on SQLite's sleeping busy handler.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from appliance.store.db import connection, transaction

THROTTLE_DB = "login_throttle.db"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS login_failures ("
    " key TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_at REAL NOT NULL, blocked_until REAL NOT NULL"
    ") WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS login_failures_last_at ON login_failures (last_at)",
)
_local = threading.local()
_thread_lock = threading.Lock()


def _conn(state_dir: Path) -> sqlite3.Connection:
    """This thread's connection, with the table made the first time the connection is seen."""
    conn = connection(state_dir / THROTTLE_DB)
    seen: dict[str, int] = getattr(_local, "seen", None) or {}
    _local.seen = seen
    if seen.get(str(state_dir)) != id(conn):
        for statement in _SCHEMA:
            conn.execute(statement)
        seen[str(state_dir)] = id(conn)
    return conn


@contextmanager
def _write_lock(state_dir: Path) -> Iterator[None]:
    with _thread_lock:
        fd = os.open(state_dir / f"{THROTTLE_DB}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock


def blocked_until(state_dir: Path, keys: list[str]) -> float:
    """The latest time any of ``keys`` is blocked until (0.0 when none is)."""
    if not keys:
        return 0.0
    marks = ",".join("?" * len(keys))
    row = (
        _conn(state_dir)
        .execute(f"SELECT MAX(blocked_until) FROM login_failures WHERE key IN ({marks})", keys)
        .fetchone()
    )
    return float(row[0] or 0.0)


def add_failure(
    state_dir: Path, keys: list[str], now: float, forget_before: float, delay_for: Callable[[str, int], float]
) -> None:
    """Count one more failure for each key and block it for ``delay_for(key, failures)`` seconds.

    A count whose last failure is older than ``forget_before`` starts again from one; rows that old
    and no longer blocking anything are pruned on the way.
    """
    conn = _conn(state_dir)
    with _write_lock(state_dir), transaction(conn):
        for key in keys:
            row = conn.execute("SELECT failures, last_at FROM login_failures WHERE key = ?", (key,)).fetchone()
            failures = 1 if row is None or row[1] < forget_before else int(row[0]) + 1
            conn.execute(
                "INSERT INTO login_failures (key, failures, last_at, blocked_until) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, last_at = excluded.last_at,"
                " blocked_until = excluded.blocked_until",
                (key, failures, now, now + delay_for(key, failures)),
            )
        conn.execute("DELETE FROM login_failures WHERE last_at < ? AND blocked_until < ?", (forget_before, now))


def clear(state_dir: Path, key: str) -> None:
    """Forget ``key``'s failures; a read first, so a clean login never takes the write lock."""
    conn = _conn(state_dir)
    if conn.execute("SELECT 1 FROM login_failures WHERE key = ?", (key,)).fetchone() is None:
        return
    with _write_lock(state_dir), transaction(conn):
        conn.execute("DELETE FROM login_failures WHERE key = ?", (key,))
