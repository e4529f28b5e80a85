"""Token buckets for each tenant and route, kept in their own SQLite file.

The API may run as several gunicorn processes (and later several nodes sharing the state dir),
so buckets cannot live in process memory. A separate database with ``synchronous=OFF`` keeps this
per-request write cheap and away from the main database's write lock; losing the last few bucket
updates in a power cut only refills some tokens early.

This module holds the SQL for that file itself, the one recorded exception to "no SQL outside
appliance/store" (docs/decisions.md, rate-limit buckets): the buckets are a private, throw-away
counter file with its own connection settings, not part of the appliance's data, and keeping the
read-modify-write beside the bucket arithmetic keeps it one short transaction. We still agree.
"""

from __future__ import annotations

import fcntl
import math
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from appliance.store.db import open_connection, transaction

RATELIMIT_DB = "ratelimit.db"
_local = threading.local()


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: int


_locks: dict[str, tuple[threading.Lock, int]] = {}
_locks_guard = threading.Lock()


def _bucket_lock(state_dir: Path) -> tuple[threading.Lock, int]:
    """A thread lock plus a process-wide descriptor of the bucket lock file.

    Writers queue on these rather than on SQLite's busy handler, which sleeps in growing steps and
    turned contention between gunicorn workers into a long latency tail. ``flock`` is held per open
    file, so threads of one process also need the thread lock.
    """
    key = str(state_dir)
    with _locks_guard:
        if key not in _locks:
            fd = os.open(state_dir / f"{RATELIMIT_DB}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            _locks[key] = (threading.Lock(), fd)
        return _locks[key]


def _conn(state_dir: Path) -> sqlite3.Connection:
    cache: dict[str, sqlite3.Connection] = getattr(_local, "conns", None) or {}
    _local.conns = cache
    key = str(state_dir)
    if key not in cache:
        conn = open_connection(state_dir / RATELIMIT_DB, synchronous="OFF")
        conn.execute("CREATE TABLE IF NOT EXISTS buckets (bucket TEXT PRIMARY KEY, tokens REAL, updated REAL)")
        cache[key] = conn
    return cache[key]


def take(state_dir: Path, bucket: str, rate_per_s: float, burst: int, now: float | None = None) -> Decision:
    """Spend one token from ``bucket`` if there is one."""
    now = time.time() if now is None else now
    conn = _conn(state_dir)
    thread_lock, fd = _bucket_lock(state_dir)
    with thread_lock:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            tokens, allowed = _spend(conn, bucket, rate_per_s, burst, now)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    retry_after = 0 if allowed else max(1, math.ceil((1.0 - tokens) / rate_per_s))
    return Decision(allowed, int(tokens), retry_after)


def release(state_dir: Path) -> None:
    """Close this thread's bucket connection and the lock file for ``state_dir``."""
    key = str(state_dir)
    cache: dict[str, sqlite3.Connection] = getattr(_local, "conns", None) or {}
    if key in cache:
        cache.pop(key).close()
    with _locks_guard:
        held = _locks.pop(key, None)
    if held is not None:
        os.close(held[1])


def _spend(conn: sqlite3.Connection, bucket: str, rate_per_s: float, burst: int, now: float) -> tuple[float, bool]:
    with transaction(conn):
        row = conn.execute("SELECT tokens, updated FROM buckets WHERE bucket = ?", (bucket,)).fetchone()
        tokens = float(burst) if row is None else min(float(burst), row[0] + max(0.0, now - row[1]) * rate_per_s)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        conn.execute(
            "INSERT INTO buckets (bucket, tokens, updated) VALUES (?, ?, ?)"
            " ON CONFLICT(bucket) DO UPDATE SET tokens = excluded.tokens, updated = excluded.updated",
            (bucket, tokens, now),
        )
    return tokens, allowed
