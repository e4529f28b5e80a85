"""Token buckets for each tenant and route, kept in their own SQLite file.

The API may run as several gunicorn processes (and later several nodes sharing the state dir),
so buckets cannot live in process memory. A separate database with ``synchronous=OFF`` keeps this
per-request write cheap and away from the main database's write lock; losing the last few bucket
updates in a power cut only refills some tokens early.
"""

from __future__ import annotations

import math
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
    retry_after = 0 if allowed else max(1, math.ceil((1.0 - tokens) / rate_per_s))
    return Decision(allowed, int(tokens), retry_after)
