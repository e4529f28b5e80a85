"""The Huey queues, one SqliteHuey file each in the state dir.

Queues are named once here; `sealforge serve` starts a consumer for each, `sealforge worker --queue Q`
starts one. The API and the workers share only these files and the database.
"""

from __future__ import annotations

from pathlib import Path

from huey import SqliteHuey

from appliance.jobs.serializer import JsonSerializer
from appliance.store.db import create_private_file

QUEUES = ("interactive", "default", "gpu", "free", "sim")


class UnknownQueue(ValueError):
    pass


def queue_path(state_dir: Path, name: str) -> Path:
    if name not in QUEUES:
        raise UnknownQueue(f"unknown queue {name!r}; the queues are {', '.join(QUEUES)}")
    return state_dir / f"queue-{name}.db"


def make_huey(state_dir: Path, name: str) -> SqliteHuey:
    path = queue_path(state_dir, name)
    create_private_file(path)  # 0600 before Huey opens it, so its -wal/-shm are 0600 too
    return SqliteHuey(
        name=f"sealforge-{name}", filename=str(path), results=False, timeout=10, serializer=JsonSerializer()
    )


def pending_counts(state_dir: Path) -> dict[str, int | None]:
    """Tasks waiting in each queue; None for a queue file that cannot be read (reported, not raised)."""
    depths: dict[str, int | None] = {}
    for name in QUEUES:
        try:
            depths[name] = int(make_huey(state_dir, name).pending_count())
        except Exception:
            depths[name] = None
    return depths
