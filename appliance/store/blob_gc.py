"""The blob collector: frees the bytes no dataset, artifact or live writer holds any more.

Writers never delete shared bytes on their own judgement; unreferenced blobs are left here (a
rejected upload and a dataset delete release their own blob at once through the same re-check).
The collector drops pins whose process has died (a crash between storing bytes and committing the
row), lists blob files on disk, and unlinks candidates in small batches, each under
``BEGIN IMMEDIATE`` with the reference count and pins re-checked, so a writer that pins a blob
while the collector runs keeps it. `sealforge serve` and `sealforge worker` run it at start;
`sealforge admin gc` runs it by hand.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from appliance.store import blobs
from appliance.store.blobs import BlobStore
from appliance.store.db import transaction
from appliance.store.owned import token_alive

BATCH = 100


@dataclass
class GcReport:
    stale_pins: int = 0
    blobs_removed: int = 0
    bytes_freed: int = 0
    blobs_kept: int = 0
    missing: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def collect(conn: sqlite3.Connection, state_dir: Path) -> GcReport:
    """Remove unreferenced, unpinned blobs. ``missing`` lists referenced blobs absent on disk."""
    store = BlobStore(state_dir)
    report = GcReport()
    dead = [pin for pin, owner in blobs.pins(conn) if not token_alive(owner)]
    if dead:
        with transaction(conn):
            report.stale_pins = blobs.delete_pins(conn, dead)
    on_disk = store.stored_digests()
    held = blobs.held_digests(conn)
    candidates = [d for d in on_disk if d not in held]
    for start in range(0, len(candidates), BATCH):
        batch = candidates[start : start + BATCH]
        sizes = {d: _size(store.path(d)) for d in batch}
        for digest in store.release(conn, batch):
            report.blobs_removed += 1
            report.bytes_freed += sizes[digest]
    report.blobs_kept = len(on_disk) - report.blobs_removed
    present = set(on_disk)
    report.missing = [d for d in blobs.referenced_digests(conn) if d not in present and not store.exists(d)]
    return report


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
