"""Connections to the appliance database.

WAL lets readers run while a writer commits; ``BEGIN IMMEDIATE`` takes the write lock up front so
two writers queue on ``busy_timeout`` instead of failing half-way with SQLITE_BUSY (under the API's
gevent workers they queue by sleeping cooperatively instead, see ``_begin_cooperatively``). Connections are
cached per thread and per path, since opening one costs more than most queries. Database files are
created 0600 before SQLite opens them (see ``create_private_file``).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_MS = 10_000
DB_FILENAME = "sealforge.db"

_local = threading.local()


def db_path(state_dir: Path) -> Path:
    return state_dir / DB_FILENAME


def create_private_file(path: Path) -> None:
    """Create ``path`` with mode 0600 unless it exists (an empty file is a valid empty database).

    SQLite creates a database's ``-wal`` and ``-shm`` files with the database file's own mode, so
    creating the database 0600 keeps all three private whatever the process umask.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL, retrying while another process does the same to a new file.

    Converting a new database upgrades a read lock to a write lock, and SQLite answers "database is
    locked" at once there rather than through the busy handler; once one process has converted the
    file, the mode is persistent and the others' switch is a no-op.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def open_connection(path: Path, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """A new connection in autocommit mode; callers open transactions explicitly."""
    create_private_file(path)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    _use_wal(conn)
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class ConnectionPool:
    """Connections to one database file, each lent to one request at a time and kept for the next.

    The API's requests run in greenlets, and a greenlet-local cache (what `connection` is under
    gevent) would open a new connection for every request, about a millisecond each. The pool
    keeps up to ``size`` idle connections; a borrower that finds none opens one, and a connection
    given back to a full pool is closed. Borrowing takes the most recently used connection, so after
    a burst the extra ones sit unused at the bottom; beyond ``keep`` of them, those idle for longer
    than ``idle_s`` are closed at the next borrow or give-back, and a worker's descriptors (three per
    connection: the file, its WAL and its shared memory) return to their quiet level instead of
    staying at the burst's high-water mark. Made after the worker process forks, never shared
    across processes."""

    def __init__(
        self,
        path: Path,
        size: int = 32,
        keep: int = 4,
        idle_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.size = size
        self.keep = keep
        self.idle_s = idle_s
        self._clock = clock
        self._idle: list[tuple[sqlite3.Connection, float]] = []  # (connection, given back at); newest last
        self._lock = threading.Lock()

    def borrow(self) -> sqlite3.Connection:
        with self._lock:
            stale = self._take_stale()
            conn = self._idle.pop()[0] if self._idle else None
        _close_all(stale)
        return conn if conn is not None else open_connection(self.path)

    def give_back(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:  # a request that failed inside `transaction` has already rolled back
            conn.execute("ROLLBACK")
        with self._lock:
            stale = self._take_stale()
            kept = len(self._idle) < self.size
            if kept:
                self._idle.append((conn, self._clock()))
        _close_all(stale if kept else [*stale, conn])

    def idle_count(self) -> int:
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        _close_all([conn for conn, _ in idle])

    def _take_stale(self) -> list[sqlite3.Connection]:
        """Remove and return the idle connections past ``idle_s`` beyond the ``keep`` newest (under the lock)."""
        cutoff = self._clock() - self.idle_s
        spare = max(len(self._idle) - self.keep, 0)
        stale = 0
        while stale < spare and self._idle[stale][1] < cutoff:  # oldest first
            stale += 1
        taken, self._idle = self._idle[:stale], self._idle[stale:]
        return [conn for conn, _ in taken]


def _close_all(conns: list[sqlite3.Connection]) -> None:
    for conn in conns:
        conn.close()


def sync_normal(conn: sqlite3.Connection) -> None:
    """Commit at ``synchronous = NORMAL``, as every connection of ``open_connection`` does: in WAL
    mode a commit survives a killed process, and only a power cut can drop the last few. For
    connections this module does not open (Huey's queue files, ``appliance.jobs.queues``)."""
    conn.execute("PRAGMA synchronous = NORMAL")


def connection(path: Path) -> sqlite3.Connection:
    """The calling thread's cached connection to ``path``."""
    cache: dict[str, sqlite3.Connection] = getattr(_local, "conns", None) or {}
    _local.conns = cache
    key = str(path)
    conn = cache.get(key)
    if conn is None:
        conn = open_connection(path)
        cache[key] = conn
    return conn


def close_thread_connections(under: Path | None = None) -> None:
    """Close this thread's cached connections (only those to files under ``under``, if given)."""
    cache: dict[str, sqlite3.Connection] = getattr(_local, "conns", None) or {}
    for key in [k for k in cache if under is None or Path(k).is_relative_to(under)]:
        cache.pop(key).close()
    _local.conns = cache


def _cooperative() -> bool:
    """Whether this process runs under gevent (the API's workers), where a wait inside SQLite's
    busy handler would stall every request and stream of the process, not just this one."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("time"))


_turns: dict[str, Any] = {}


@contextmanager
def write_turn(conn: sqlite3.Connection) -> Iterator[None]:
    """Under gevent, one write transaction at a time per database file in this process, the
    others waiting their turn in the order they came (a gevent lock wakes its waiters first come,
    first served). Without it every greenlet that wants to write polls SQLite's lock on its own,
    and while the other API worker holds it the newest poller (shortest back-off) tends to win,
    so an early one could lose for seconds. Elsewhere it does nothing: threads wait in SQLite's
    busy handler, which is fair enough there. Waiting longer than ``BUSY_TIMEOUT_MS`` raises the
    error a busy database gives."""
    if not _cooperative():
        yield
        return
    path = conn.execute("PRAGMA database_list").fetchone()[2] or f"memory:{id(conn)}"
    turn = _turns.get(path)
    if turn is None:  # made in the worker, after gevent patched threading
        turn = _turns.setdefault(path, threading.Lock())
    if not turn.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
        raise sqlite3.OperationalError("database is locked")
    try:
        yield
    finally:
        turn.release()


def begin_write(conn: sqlite3.Connection, statement: str = "BEGIN IMMEDIATE") -> None:
    """Start a write transaction with ``statement``; under gevent without waiting inside SQLite
    (see ``_begin_cooperatively``). For connections this module does not open too: Huey's queue
    files (``appliance.jobs.queues``), which both API workers write to on every submit."""
    if _cooperative():
        _begin_cooperatively(conn, statement)
    else:
        conn.execute(statement)


def _begin_cooperatively(conn: sqlite3.Connection, statement: str = "BEGIN IMMEDIATE") -> None:
    """``BEGIN IMMEDIATE`` without waiting inside SQLite: while another process holds the write
    lock, ask again after a short sleep that gevent turns into a switch to other greenlets. The
    overall wait is bounded by ``BUSY_TIMEOUT_MS``, as the busy handler bounds it elsewhere.

    SQLite's own busy handler sleeps in growing steps, up to 100 ms a step, however soon the lock
    is free; in a gevent worker nothing else of the process runs meanwhile. The pause stays short
    (2 ms at most) because only the first greenlet in ``write_turn``'s queue polls: a long one let
    the other worker, whose next writer starts the moment its last one commits, keep the lock."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                conn.execute(statement)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.002)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction: all or nothing, with the write lock taken at the start."""
    if conn.in_transaction:
        yield conn
        return
    with write_turn(conn):
        begin_write(conn)
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def row_dict(row: sqlite3.Row | None) -> dict[str, Any] | None:
    return dict(row) if row is not None else None


def fetch_one(
    conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()
) -> dict[str, Any] | None:
    return row_dict(conn.execute(sql, params).fetchone())


def fetch_all(
    conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()
) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(sql, params).fetchall()]
