"""Crash recovery: jobs whose worker stopped renewing its lease are retried or failed, and jobs
waiting for a queue task that is no longer there get one again.

A worker renews its lease every third of the lease time while a job runs. If the process dies
(kill -9, power loss), the lease runs out; the next consumer start, or the minute tick, moves
the job back to the queue while it has attempts left, else fails it with ``WORKER_LOST``.

A `created` or `queued` job can also lose its Huey task: the API killed between recording the
job and enqueueing it, a power cut dropping the queue file's last commits (it is not fsynced per
commit, see ``appliance.jobs.queues``), a consumer killed between taking a task and claiming its
job. The same ticks enqueue such a job again once its last move is ``STRANDED_AFTER_S`` old. A
task that turns out not to be missing after all (taken in the instant between the two reads) only
runs the job once: the runner claims a job only while it is `queued`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from appliance.clock import iso
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


STRANDED_AFTER_S = 60.0
"""How old a waiting job's last move must be before a missing task counts as lost: far longer than
the API takes from recording a job to enqueueing it, or a consumer from taking a task to claiming it."""


def requeue_stranded(state_dir: Path, queue: str, after_s: float = STRANDED_AFTER_S) -> list[str]:
    """Enqueue again every job on ``queue`` that waits (`created` or `queued`) with no task for it in
    the queue file; returns their ids. The queue is read before the jobs, so a task taken between
    the two reads belongs to a job that is `running` by then, or at worst is enqueued twice."""
    from appliance.jobs.tasks import RUN_JOB, runtime

    queue_runtime = runtime(state_dir, queue)
    waiting_tasks = [*queue_runtime.huey.pending(), *queue_runtime.huey.scheduled()]
    have_task = {task.args[0] for task in waiting_tasks if task.name == RUN_JOB and task.args}
    conn = open_db(state_dir)
    stranded = [
        job for job in jobs_store.waiting_jobs(conn, queue, iso(time.time() - after_s)) if job["id"] not in have_task
    ]
    for job in stranded:
        log.warning("re-enqueueing %s: it was %s with no task in the %s queue", job["id"], job["status"], queue)
        if job["status"] == "created":  # `queued` first: a worker claims only a queued job
            with transaction(conn):
                current = jobs_store.get_job(conn, job["id"])
                if current is None or current["status"] != "created":
                    continue
                lifecycle.move(conn, current, "queued", reason="STRANDED: enqueued again by the consumer")
        queue_runtime.enqueue(job["id"])
    return [job["id"] for job in stranded]
