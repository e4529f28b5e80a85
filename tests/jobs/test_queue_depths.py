"""Queue depths (what /metrics, /livez and the overview show) leave no queue file open behind them."""

from __future__ import annotations

import gc
import os
from pathlib import Path

from appliance.jobs import queues


def _open_queue_files(state_dir: Path) -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(str(state_dir / "queue-"))
    return count


def test_depths_close_every_queue_connection(tmp_path: Path) -> None:
    assert queues.pending_counts(tmp_path) == dict.fromkeys(queues.QUEUES, 0)
    gc.disable()  # a connection left to the collector would stay open while it does not run
    try:
        for _ in range(20):
            queues.pending_counts(tmp_path)
        assert _open_queue_files(tmp_path) == 0
    finally:
        gc.enable()


def test_an_unreadable_queue_file_is_reported_as_none(tmp_path: Path) -> None:
    (tmp_path / "queue-default.db").write_bytes(b"not a database" * 100)
    depths = queues.pending_counts(tmp_path)
    assert depths["default"] is None
    assert depths["interactive"] == 0
