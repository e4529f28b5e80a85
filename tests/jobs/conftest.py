"""Real Huey consumers in subprocesses (`sealforge worker`), sharing the test's state dir."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

LEASE_S = 2.0


@pytest.fixture
def app_config(state_dir: Path) -> dict[str, Any]:
    return {
        "server": {"state_dir": str(state_dir)},
        "ratelimit": {"burst": 10_000, "rate_per_s": 10_000.0},
        "jobs": {"lease_s": LEASE_S, "max_attempts": 2},
    }


@pytest.fixture
def start_worker(state_dir: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(queue: str = "default", max_attempts: int = 2) -> subprocess.Popen[bytes]:
        env = {**os.environ, "SEALFORGE_JOBS_LEASE_S": str(LEASE_S), "SEALFORGE_JOBS_MAX_ATTEMPTS": str(max_attempts)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "appliance.cli.main", "worker", "--queue", queue, "--state-dir", str(state_dir)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def mock_schema(rows: int = 1000) -> dict[str, Any]:
    return {
        "tables": [
            {
                "name": "readings",
                "rows": rows,
                "columns": [
                    {"name": "id", "type": "int", "generator": "sequence"},
                    {"name": "flow", "type": "float", "generator": "normal", "mean": 10, "std": 2},
                    {"name": "site", "type": "string", "generator": "category", "categories": ["a", "b", "c"]},
                ],
            }
        ]
    }


def wait_for(client: FlaskClient, headers: dict[str, str], job_id: str, states: set[str], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).get_json()
        if job["status"] in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"{job_id} stayed {job['status']}, wanted {states}")
