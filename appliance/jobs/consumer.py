"""A Huey consumer for one queue, as `sealforge worker --queue Q` runs it."""

from __future__ import annotations

from pathlib import Path

from huey.consumer import Consumer

from appliance.jobs.tasks import runtime


def make_consumer(state_dir: Path, queue: str, workers: int = 1, max_poll_s: float = 0.5) -> Consumer:
    """Huey's idle back-off is capped at ``max_poll_s`` (its default is 10 s), so a job submitted
    to an idle queue starts within half a second; polling a SQLite file that often costs little."""
    huey = runtime(state_dir, queue).huey
    return huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=True,
        check_worker_health=True,
        initial_delay=0.05,
        backoff=1.15,
        max_delay=max_poll_s,
    )
