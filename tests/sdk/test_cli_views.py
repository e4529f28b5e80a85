"""The client CLI's person-facing views: the key/value lines and the job progress line's ETA."""

from __future__ import annotations

import io

import pytest
from sealforge_client import cli_progress
from sealforge_client.cli import human
from sealforge_client.cli_progress import JobProgress


def test_scalar_lists_print_on_one_line_and_nested_values_stay_json() -> None:
    text = human({"key_id": "key_1", "scopes": ["admin", "read"], "limits": {"rows": 5}})
    lines = text.splitlines()
    assert lines[0] == "key_id  key_1"
    assert lines[1] == "scopes  admin, read"
    assert lines[2] == 'limits  {' and lines[3].strip() == '"rows": 5'


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_eta_counts_down_from_the_latest_rate_and_does_not_climb_while_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(cli_progress.time, "monotonic", clock)
    bar = JobProgress("job_1", io.StringIO(), enabled=False)
    bar.event({"event": "progress", "data": {"progress": 0.0}})
    assert bar.eta() is None  # no rate yet
    clock.now += 10.0
    bar.event({"event": "progress", "data": {"progress": 0.5}})
    assert bar.eta() == pytest.approx(10.0)  # 0.5 in 10 s: 10 s for the other half
    clock.now += 4.0  # quiet: the ETA counts down instead of growing
    assert bar.eta() == pytest.approx(6.0)
    clock.now += 30.0  # past the estimate: no ETA (the line shows the elapsed time)
    assert bar.eta() is None
    assert "elapsed" in bar.text()
