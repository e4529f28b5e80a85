"""Under gevent (the API's workers) writers of one process take turns in the order they came while
another process holds SQLite's write lock, and an enqueue on a Huey queue file waits in a
greenlet too, never in SQLite's busy handler (which would stop every request of the process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TURNS = r"""
from gevent import monkey
monkey.patch_all()

import json, sys
from pathlib import Path

import gevent

from appliance.store.db import open_connection, transaction

path = Path(sys.argv[1])
setup = open_connection(path)
setup.execute("CREATE TABLE t (n INTEGER)")
other_worker = open_connection(path)
other_worker.execute("BEGIN IMMEDIATE")  # the other API process holds the write lock
committed = []

def writer(n):
    conn = open_connection(path)
    with transaction(conn):
        conn.execute("INSERT INTO t VALUES (?)", (n,))
    committed.append(n)

def arrive():
    for n in range(8):  # writers arrive 10 ms apart, so their back-offs differ when it is freed
        gevent.spawn(writer, n)
        gevent.sleep(0.01)
    gevent.sleep(0.05)
    other_worker.execute("COMMIT")

gevent.spawn(arrive).join()
gevent.wait(timeout=30)
print(json.dumps({"committed": committed, "rows": [r[0] for r in setup.execute("SELECT n FROM t ORDER BY rowid")]}))
"""

QUEUE = r"""
from gevent import monkey
monkey.patch_all()

import json, sys
from pathlib import Path

import gevent

from appliance.jobs.queues import queue_path
from appliance.jobs.tasks import runtime
from appliance.store.db import open_connection

state = Path(sys.argv[1])
queue = runtime(state, "default")
queue.huey.pending()  # the queue file exists, with its tables
other_worker = open_connection(queue_path(state, "default"))
other_worker.execute("BEGIN IMMEDIATE")
seen = {"ticks": 0, "ticks_when_enqueued": []}

def ticker():
    for _ in range(40):
        seen["ticks"] += 1
        gevent.sleep(0.005)

def submit(n):
    queue.enqueue(f"job_{n}")
    seen["ticks_when_enqueued"].append(seen["ticks"])

def release():
    while seen["ticks"] < 10:
        gevent.sleep(0.005)
    other_worker.execute("COMMIT")

gevent.joinall([gevent.spawn(ticker), *(gevent.spawn(submit, n) for n in range(3)), gevent.spawn(release)], timeout=30)
seen["pending"] = sorted(task.args[0] for task in queue.huey.pending())
print(json.dumps(seen))
"""


def _run(script: str, arg: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", script, str(arg)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_writers_of_one_process_commit_in_the_order_they_came(tmp_path: Path) -> None:
    seen = _run(TURNS, tmp_path / "db.sqlite")
    assert seen["committed"] == list(range(8)) and seen["rows"] == list(range(8))


def test_an_enqueue_waits_for_the_queue_file_in_a_greenlet(tmp_path: Path) -> None:
    seen = _run(QUEUE, tmp_path / "var")
    assert seen["pending"] == ["job_0", "job_1", "job_2"]
    ticks = seen["ticks_when_enqueued"]
    assert isinstance(ticks, list) and len(ticks) == 3
    assert min(ticks) >= 10  # the process went on (the ticker ran) while the enqueues waited
