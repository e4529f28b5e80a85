"""A Huey consumer for one queue, as `sealforge worker --queue Q` runs it."""

from __future__ import annotations

from pathlib import Path

from huey.consumer import Consumer

from appliance.jobs.queues import make_huey


def make_consumer(state_dir: Path, queue: str, workers: int = 1) -> Consumer:
    huey = make_huey(state_dir, queue)
    return huey.create_consumer(workers=workers, worker_type="thread", periodic=True, check_worker_health=True)
