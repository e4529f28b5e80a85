"""The Huey queues, one SqliteHuey file each in the state dir.

Queues are named once here; `sealforge serve` starts a consumer for each, `sealforge worker --queue Q`
starts one. The API and the workers share only these files and the database.

A queue file commits with ``synchronous = NORMAL`` in WAL mode, like ``sealforge.db``: a commit is
in the operating system's hands before the submit answers, so a killed process (kill -9, OOM)
loses nothing, and only a power cut can drop the last few commits. Huey's default (FULL) fsyncs
every enqueue, which on the API's gevent workers stalls every request of the process for the
length of a disk flush (4-12 ms here, per submit). A task a power cut drops is not work lost:
the job row says `queued` (or `created`) and the consumers' sweep (``appliance.jobs.reclaim``)
enqueues it again.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from huey import SqliteHuey
from huey.storage import SqliteStorage

from appliance.jobs.serializer import JsonSerializer
from appliance.store.db import begin_write, create_private_file, sync_normal, write_turn

QUEUES = ("interactive", "default", "gpu", "free", "sim")


class UnknownQueue(ValueError):
    pass


def queue_path(state_dir: Path, name: str) -> Path:
    if name not in QUEUES:
        raise UnknownQueue(f"unknown queue {name!r}; the queues are {', '.join(QUEUES)}")
    return state_dir / f"queue-{name}.db"


class QueueStorage(SqliteStorage):  # type: ignore[misc]
    """Huey's SQLite storage with commits at ``synchronous = NORMAL`` (see the module docstring),
    whose write transactions start through ``appliance.store.db.begin_write``: in an API worker
    (gevent) a submit that finds the other worker enqueueing waits in a greenlet, not in SQLite's
    busy handler, which would stop every request of the process for up to 100 ms a step."""

    def _create_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = super()._create_connection()
        sync_normal(conn)
        return conn

    @contextlib.contextmanager
    def db(self, commit: bool = False, close: bool = False) -> Iterator[sqlite3.Cursor]:
        """Huey's ``BaseSqlStorage.db``, with the write transaction begun by ``begin_write``."""
        with self.lock:
            conn = self.conn
            cursor = conn.cursor()
            try:
                with write_turn(conn) if commit else contextlib.nullcontext():
                    if commit:
                        begin_write(conn, self.begin_sql)
                    try:
                        yield cursor
                    except Exception:
                        if commit:
                            conn.rollback()
                        raise
                    if commit:
                        conn.commit()
            finally:
                cursor.close()
                if close:
                    conn.close()
                    self._conn = None


def make_huey(state_dir: Path, name: str) -> SqliteHuey:
    path = queue_path(state_dir, name)
    create_private_file(path)  # 0600 before Huey opens it, so its -wal/-shm are 0600 too
    return SqliteHuey(
        name=f"sealforge-{name}",
        filename=str(path),
        results=False,
        timeout=10,
        serializer=JsonSerializer(),
        storage_class=QueueStorage,
    )


def pending_counts(state_dir: Path) -> dict[str, int | None]:
    """Tasks waiting in each queue; None for a queue file that cannot be read (reported, not raised).

    Each queue's connection is closed before returning: /metrics and /livez call this per request,
    and a connection left to the garbage collector keeps its file descriptors open until a
    collection happens to run (on a busy box, long enough to pile up dozens)."""
    depths: dict[str, int | None] = {}
    for name in QUEUES:
        try:
            huey = make_huey(state_dir, name)
        except Exception:
            depths[name] = None
            continue
        try:
            depths[name] = int(huey.pending_count())
        except Exception:
            depths[name] = None
        finally:
            huey.storage.close()
    return depths
