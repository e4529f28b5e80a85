"""kill -9 of the whole `sealforge serve` tree during an upload and during a running job leaves a
blob temp file and a job work dir behind; the next start removes them, and never what a live
process still holds (#12 item 2).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, mock_schema

CLI = [sys.executable, "-m", "appliance.cli.main"]
HOLDER = """
import sys
from pathlib import Path
from appliance.store.owned import create_owned_file, own_dir
state = Path(sys.argv[1])
fd, temp = create_owned_file(state / "blobs" / "tmp", "blob-")
work = own_dir(state / "work" / "job_live")
(work.path / "rows.csv.partial").write_bytes(b"still being written")
print(temp, flush=True)
sys.stdin.readline()
"""


class Serve:
    """`sealforge serve` in its own session, its output collected line by line."""

    def __init__(self, state_dir: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "SEALFORGE_JOBS_LEASE_S": "2", "SEALFORGE_JOBS_MAX_ATTEMPTS": "1"}
        self.proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(self.port), "--state-dir", str(state_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def request(self, method: str, path: str, key: str, body: Any = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"X-API-Key": key, "Content-Type": "application/json"})
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/healthz", "")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("serve never answered /healthz:\n" + "".join(self.lines))

    def kill_tree(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def serves(state_dir: Path) -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for serve in started:
        serve.stop()


def wait_until(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(what)


def start_upload(port: int, key: str) -> http.client.HTTPConnection:
    """A 300 MB upload of which only the first megabytes are ever sent."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("POST", "/v1/datasets?name=big.csv")
    conn.putheader("X-API-Key", key)
    conn.putheader("Content-Type", "application/octet-stream")
    conn.putheader("Content-Length", str(300 * 1024 * 1024))
    conn.endheaders()
    conn.send(b"id,flow\n" + b"1,2.5\n" * (1 << 19))
    return conn


@pytest.mark.heavy
def test_kill_9_leftovers_are_removed_at_next_start(state_dir: Path, serves: list[Serve]) -> None:
    boot = subprocess.run([*CLI, "admin", "bootstrap", "--state-dir", str(state_dir)], capture_output=True, text=True)
    key = json.loads(boot.stdout)["api_key"]
    tenant = json.loads(boot.stdout)["tenant_id"]
    topup = [*CLI, "admin", "credits", "add", "--tenant", tenant, "--credits", "100", "--state-dir", str(state_dir)]
    subprocess.run(topup, capture_output=True, check=True)
    first = Serve(state_dir)
    serves.append(first)
    first.wait_healthy()
    status, job = first.request(
        "POST", "/v1/jobs", key, {"kind": "mock", "params": {"schema": mock_schema(40_000_000)}}
    )
    assert status == 202, job
    work = state_dir / "work" / job["id"]
    wait_until(lambda: work.is_dir() and any(work.rglob("*")), "the job never started writing")
    upload = start_upload(first.port, key)
    temp_dir = state_dir / "blobs" / "tmp"
    wait_until(lambda: any(p.stat().st_size > 0 for p in temp_dir.glob("blob-*")), "the upload never reached disk")
    first.kill_tree()
    upload.close()
    crashed_temps = list(temp_dir.glob("blob-*"))
    assert crashed_temps and work.is_dir()

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(state_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        live_temp = Path(holder.stdout.readline().strip())
        live_work = state_dir / "work" / "job_live"
        second = Serve(state_dir)
        serves.append(second)
        second.wait_healthy()
        wait_until(
            lambda: not any(p.exists() for p in crashed_temps) and not work.exists(),
            f"crash leftovers stayed: {crashed_temps}, {work}",
        )
        assert live_temp.exists() and (live_work / "rows.csv.partial").exists()
        wait_until(lambda: any("start-up cleanup {" in line for line in second.lines), "serve never cleaned up")
        assert live_temp.exists() and (live_work / "rows.csv.partial").exists()

        gc = subprocess.run([*CLI, "admin", "gc", "--state-dir", str(state_dir)], capture_output=True, text=True)
        assert gc.returncode == 0, gc.stderr
        assert live_temp.exists() and live_work.exists()
    finally:
        holder.communicate("\n", timeout=10)
    gc = subprocess.run([*CLI, "admin", "gc", "--state-dir", str(state_dir)], capture_output=True, text=True)
    assert json.loads(gc.stdout)["temp_files"] == 1 and json.loads(gc.stdout)["work_dirs"] == 1
    assert not live_temp.exists() and not live_work.exists()
