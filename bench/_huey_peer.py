"""The peer for bench/jobs.py: a bare SqliteHuey task that only records that it ran.

Run as `python bench/_huey_peer.py STATE_DIR` to start its consumer.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

from huey import SqliteHuey

STATE = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/huey-peer")
huey = SqliteHuey(name="peer", filename=str(STATE / "peer-queue.db"), results=False)


def done_db() -> sqlite3.Connection:
    conn = sqlite3.connect(STATE / "peer-done.db", isolation_level=None, timeout=10)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS done (id TEXT PRIMARY KEY, at REAL)")
    return conn


@huey.task(name="peer.noop")
def noop(task_id: str) -> None:
    done_db().execute("INSERT INTO done VALUES (?, ?)", (task_id, time.time()))


if __name__ == "__main__":
    done_db()
    huey.create_consumer(workers=1, worker_type="thread", initial_delay=0.05, backoff=1.15, max_delay=0.5).run()
