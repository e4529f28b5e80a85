"""Under gevent (the API's workers) a write transaction that must wait for SQLite's write lock waits
cooperatively: other greenlets of the process keep running meanwhile, including the one that will
release the lock. Waiting inside SQLite's busy handler would freeze them all, and here, where the
holder is a greenlet of the same process, would deadlock until the busy timeout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
from gevent import monkey
monkey.patch_all()

import json, sqlite3, sys
from pathlib import Path

import gevent

from appliance.store.db import open_connection, transaction

path = Path(sys.argv[1])
setup = open_connection(path)
setup.execute("CREATE TABLE t (n INTEGER)")
holder = open_connection(path)
holder.execute("BEGIN IMMEDIATE")  # another greenlet's transaction holds the write lock
seen = {"ticks_before_write": None, "ticks": 0, "written": False}

def ticker():
    for _ in range(40):
        seen["ticks"] += 1
        gevent.sleep(0.005)

def writer():
    conn = open_connection(path)
    with transaction(conn):
        seen["ticks_before_write"] = seen["ticks"]
        conn.execute("INSERT INTO t VALUES (1)")
    seen["written"] = True

def release():
    while seen["ticks"] < 10:
        gevent.sleep(0.005)
    holder.execute("INSERT INTO t VALUES (0)")
    holder.execute("COMMIT")

gevent.joinall([gevent.spawn(ticker), gevent.spawn(writer), gevent.spawn(release)], timeout=30)
seen["rows"] = [r[0] for r in setup.execute("SELECT n FROM t ORDER BY rowid")]
print(json.dumps(seen))
"""


def test_a_waiting_writer_lets_the_lock_holder_and_others_run(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "db.sqlite")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["written"] and seen["rows"] == [0, 1]
    assert seen["ticks_before_write"] >= 10  # the others ran while the writer waited for the lock
