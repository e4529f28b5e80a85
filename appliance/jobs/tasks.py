"""Huey task registration for each queue, and enqueueing from the API.

The task receives only a job id and has an explicit ``name=``, so renaming this module never
strands queued work. Each queue's consumer also reclaims expired leases and re-enqueues jobs whose
task went missing, at start-up and every minute (``appliance.jobs.reclaim``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huey import SqliteHuey, crontab

from appliance.jobs.queues import make_huey

log = logging.getLogger("sealforge.jobs")

RUN_JOB = "sealforge.run_job"
RECLAIM = "sealforge.reclaim_leases"


@dataclass
class QueueRuntime:
    queue: str
    huey: SqliteHuey
    run_job: Any

    def enqueue(self, job_id: str) -> str:
        task = self.run_job.s(job_id)
        self.huey.enqueue(task)
        return str(task.id)

    def revoke(self, task_id: str) -> None:
        self.huey.revoke_by_id(task_id, revoke_once=True)


_runtimes: dict[tuple[str, str], QueueRuntime] = {}
_lock = threading.Lock()


def runtime(state_dir: Path, queue: str) -> QueueRuntime:
    """The queue's Huey with our tasks registered (one per process, state dir and queue)."""
    key = (str(state_dir), queue)
    with _lock:
        if key not in _runtimes:
            _runtimes[key] = _build(state_dir, queue)
        return _runtimes[key]


def release(state_dir: Path) -> None:
    """Close the queue connections this process holds for ``state_dir``."""
    with _lock:
        for key in [k for k in _runtimes if k[0] == str(state_dir)]:
            _runtimes.pop(key).huey.storage.close()


def _build(state_dir: Path, queue: str) -> QueueRuntime:
    huey = make_huey(state_dir, queue)

    @huey.task(name=RUN_JOB)
    def run_job(job_id: str) -> None:
        from appliance.jobs.runner import execute

        execute(state_dir, job_id)

    @huey.periodic_task(crontab(minute="*"), name=RECLAIM)
    def reclaim_every_minute() -> None:
        _reclaim(state_dir, queue)

    @huey.on_startup(name="sealforge.reclaim_on_start")
    def reclaim_on_start() -> None:
        _reclaim(state_dir, queue)

    return QueueRuntime(queue, huey, run_job)


def _reclaim(state_dir: Path, queue: str) -> None:
    from appliance.jobs.reclaim import reclaim_expired, requeue_stranded

    try:
        reclaim_expired(state_dir, queue)
    except Exception:
        log.exception("lease reclaim on queue %s failed", queue)
    try:
        requeue_stranded(state_dir, queue)
    except Exception:
        log.exception("re-enqueueing stranded jobs on queue %s failed", queue)
