"""`sealforge serve` starts the API and every consumer, answers /healthz, stops cleanly.

How fast it answers is measured by bench/startup.py, not asserted here."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import free_port


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=2) as response:
        return response.status, json.loads(response.read())


def test_serve_answers_healthz_and_stops(state_dir: Path) -> None:
    port = free_port()
    bootstrap = subprocess.run(
        [sys.executable, "-m", "appliance.cli.main", "admin", "bootstrap", "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    key = json.loads(bootstrap.stdout)["api_key"]
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance.cli.main", "serve", "--port", str(port), "--state-dir", str(state_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        status = 0
        while time.monotonic() - started < 60 and status != 200:
            try:
                status, _ = get(f"http://127.0.0.1:{port}/healthz")
            except OSError:
                time.sleep(0.1)
        assert status == 200, "no /healthz answer within 60 s"
        _, me = get(f"http://127.0.0.1:{port}/v1/auth/whoami", {"X-API-Key": key})
        assert me["scopes"] == ["admin"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            _, live = get(f"http://127.0.0.1:{port}/livez")
            if live["ok"]:
                break
            time.sleep(0.2)
        assert all((state_dir / f"queue-{q}.db").exists() for q in ("interactive", "default", "gpu", "free", "sim"))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.returncode == 0
    leftover = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", "children outlived serve"
