"""`sealforge webhooks-deliver`: refuses a bad `[webhooks]` config with a message, and stops
cleanly on SIGTERM (what `serve` and systemd send)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SEALFORGE = [sys.executable, "-m", "appliance.cli.main"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SEALFORGE_WEBHOOKS_TIMEOUT_S", "0", "[webhooks] timeout_s must be at least 0.1"),
        ("SEALFORGE_WEBHOOKS_ALLOWED_NETWORKS", "10.0.0.0/8,not-a-net", "[webhooks] allowed_networks"),
        ("SEALFORGE_WEBHOOKS_ENDPOINT_CONCURRENCY", "many", "expected a int"),
    ],
)
def test_a_bad_config_is_refused_with_its_key(state_dir: Path, name: str, value: str, message: str) -> None:
    done = subprocess.run(
        [*SEALFORGE, "webhooks-deliver", "--state-dir", str(state_dir)],
        env={**os.environ, name: value}, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "error: configuration:" in done.stderr and message in done.stderr


def test_it_stops_on_sigterm(state_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "deliverer.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*SEALFORGE, "webhooks-deliver", "--state-dir", str(state_dir)],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while "started" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "stopped after 0 attempts" in log.read_text()
