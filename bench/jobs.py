"""Benchmark: a trivial job's submit → succeeded latency (p50/p99) and jobs per minute through one
worker, beside a bare Huey task (enqueue → ran) with the same polling settings.

The difference is what Sealforge adds per job: validation, the contract and its hash, the credit
check, the lifecycle journal, the lease and heartbeat, the artifact copy into the blob store, and
the success transaction.

    .venv/bin/python bench/jobs.py [--latency-jobs 50] [--batch 200]
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCHEMA = {"tables": [{"name": "t", "rows": 10, "columns": [{"name": "id", "type": "int", "generator": "sequence"}]}]}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def measure(
    submit: Callable[[], str], wait: Callable[[list[str]], None], latency_jobs: int, batch: int
) -> tuple[list[float], float]:
    """One warm-up, then submit→done latency one at a time, then throughput of a batch."""
    wait([submit()])  # the worker is up and its imports are done
    latencies = []
    for _ in range(latency_jobs):
        start = time.perf_counter()
        wait([submit()])
        latencies.append(time.perf_counter() - start)
    start = time.perf_counter()
    wait([submit() for _ in range(batch)])
    return latencies, batch / (time.perf_counter() - start) * 60


def sealforge_run(latency_jobs: int, batch: int) -> tuple[list[float], float]:
    from appliance.jobs import operations
    from appliance.services import identity
    from appliance.store.open import open_db

    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        conn = open_db(state)
        tenant = identity.create_tenant(conn, "bench", credits=1_000_000)
        worker = subprocess.Popen(
            [sys.executable, "-m", "appliance.cli.main", "worker", "--queue", "default", "--state-dir", str(state)],
            cwd=ROOT,
            start_new_session=True,
        )
        try:
            body = {"kind": "mock", "params": {"schema": SCHEMA}, "seed": 1}

            def submit() -> str:
                return str(operations.submit(conn, state, tenant["id"], "bench", body, max_attempts=1)["id"])

            def wait(job_ids: list[str]) -> None:
                pending = set(job_ids)
                while pending:
                    marks = ",".join("?" * len(pending))
                    rows = conn.execute(f"SELECT id, status FROM jobs WHERE id IN ({marks})", tuple(pending)).fetchall()
                    for row in rows:
                        if row["status"] in ("succeeded", "failed", "canceled"):
                            assert row["status"] == "succeeded", row["status"]
                            pending.discard(row["id"])
                    if pending:
                        time.sleep(0.002)

            latencies, per_min = measure(submit, wait, latency_jobs, batch)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait()
    return latencies, per_min


def huey_run(latency_jobs: int, batch: int) -> tuple[list[float], float]:
    with tempfile.TemporaryDirectory() as tmp:
        sys.argv = [sys.argv[0], tmp]
        sys.path.insert(0, str(ROOT / "bench"))
        import _huey_peer as peer

        peer.STATE = Path(tmp)
        consumer = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "_huey_peer.py"), tmp], start_new_session=True
        )
        done = peer.done_db()
        queue = __import__("huey").SqliteHuey(name="peer", filename=str(Path(tmp) / "peer-queue.db"), results=False)
        task = queue.task(name="peer.noop")(lambda task_id: None)

        def wait(ids: list[str]) -> None:
            pending = set(ids)
            while pending:
                marks = ",".join("?" * len(pending))
                for (task_id,) in done.execute(f"SELECT id FROM done WHERE id IN ({marks})", tuple(pending)):
                    pending.discard(task_id)
                if pending:
                    time.sleep(0.002)

        def submit() -> str:
            task_id = uuid.uuid4().hex
            task(task_id)
            return task_id

        try:
            latencies, per_min = measure(submit, wait, latency_jobs, batch)
        finally:
            os.killpg(consumer.pid, signal.SIGTERM)
            consumer.wait()
    return latencies, per_min


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-jobs", type=int, default=50)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    ours, ours_rate = sealforge_run(args.latency_jobs, args.batch)
    peer, peer_rate = huey_run(args.latency_jobs, args.batch)
    print(f"{'':<34}{'p50 ms':>9}{'p99 ms':>9}{'jobs/min':>10}")
    print(f"{'sealforge mock job (10 rows)':<34}{pct(ours, 0.5):>9.1f}{pct(ours, 0.99):>9.1f}{ours_rate:>10.0f}")
    print(f"{'bare huey no-op task':<34}{pct(peer, 0.5):>9.1f}{pct(peer, 0.99):>9.1f}{peer_rate:>10.0f}")
    print(
        f"ratio sealforge/huey: p50 {statistics.median(ours) / statistics.median(peer):.2f}x, "
        f"throughput {ours_rate / peer_rate:.2f}x"
    )


if __name__ == "__main__":
    sqlite3.enable_callback_tracebacks(True)
    main()
