"""Crash recovery: jobs whose worker stopped renewing its lease are retried or failed.

A worker renews its lease every third of the lease time while a job runs. If the process dies
(kill -9, power loss), the lease runs out; the next consumer start, or the minute tick, moves
the job back to the queue while it has attempts left, else fails it with ``WORKER_LOST``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from appliance.jobs import lifecycle
from appliance.store import jobs as jobs_store
from appliance.store.db import transaction
from appliance.store.open import open_db

log = logging.getLogger("sealforge.jobs")


def reclaim_expired(state_dir: Path, queue: str | None = None) -> list[str]:
    """Handle every expired lease on ``queue`` (all queues if None); returns the re-queued ids."""
    from appliance.jobs.tasks import runtime

    conn = open_db(state_dir)
    requeue: list[tuple[str, str]] = []
    with transaction(conn):
        for job in jobs_store.expired_leases(conn, time.time(), queue):
            if job["attempts"] < job["max_attempts"]:
                lifecycle.move(
                    conn,
                    job,
                    "queued",
                    reason=f"WORKER_LOST: lease expired on attempt {job['attempts']}; retrying",
                    worker=None,
                    lease_expires=None,
                )
                requeue.append((job["id"], job["queue"]))
            else:
                lifecycle.move(
                    conn,
                    job,
                    "failed",
                    reason="WORKER_LOST",
                    error_code="WORKER_LOST",
                    error_message=f"the worker stopped during attempt {job['attempts']} of {job['max_attempts']}",
                )
    for job_id, job_queue in requeue:
        log.warning("re-queueing %s after a lost worker", job_id)
        runtime(state_dir, job_queue).enqueue(job_id)
    return [job_id for job_id, _ in requeue]
