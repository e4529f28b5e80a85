"""Connections to the appliance database.

WAL lets readers run while a writer commits; ``BEGIN IMMEDIATE`` takes the write lock up front so
two writers queue on ``busy_timeout`` instead of failing half-way with SQLITE_BUSY. Connections are
cached per thread and per path, since opening one costs more than most queries.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_MS = 10_000
DB_FILENAME = "sealforge.db"

_local = threading.local()


def db_path(state_dir: Path) -> Path:
    return state_dir / DB_FILENAME


def open_connection(path: Path, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """A new connection in autocommit mode; callers open transactions explicitly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


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


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction: all or nothing, with the write lock taken at the start."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
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
