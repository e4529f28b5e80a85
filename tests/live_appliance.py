"""A whole appliance (`sealforge serve`: the API and every queue's worker) on a free loopback
port, for tests that drive it the way a user does: the CLI, the README tour.

Bootstrapped with `sealforge admin bootstrap` (the first tenant and its admin key) and given
credits with `sealforge admin credits add`, as the README says, so the state is what a newcomer has.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import free_port

SEALFORGE = [sys.executable, "-m", "appliance.cli.main"]


@dataclass
class Appliance:
    url: str
    key: str
    tenant_id: str
    state_dir: Path
    log: Path

    def env(self) -> dict[str, str]:
        """The environment a user's shell would have after the README's first steps."""
        return {**os.environ, "SEALFORGE_URL": self.url, "SEALFORGE_API_KEY": self.key}


def tenant_with_key(state: Path, name: str, scopes: list[str], credits: int = 1000) -> tuple[str, str]:
    """A tenant and one API key of ``scopes`` in the state dir (made here, closed again): (tenant id, key)."""
    from appliance.cli.release import release
    from appliance.services import identity
    from appliance.store.open import open_db

    db = open_db(state)
    tenant = identity.create_tenant(db, name, credits=credits)
    key = identity.create_key(db, tenant["id"], scopes)["api_key"]
    release(state)
    return str(tenant["id"]), str(key)


@dataclass
class ApiProcess:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path


@contextmanager
def api_process(state: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[ApiProcess]:
    """`sealforge api` (one gevent worker) on a free loopback port over ``state``, stopped after."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*SEALFORGE, "api", "--host", "127.0.0.1", "--port", str(port), "--state-dir", str(state)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SEALFORGE_SERVER_WORKERS": "1", **(env or {})},
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, "/healthz", proc, log)
        yield ApiProcess(url, proc, log)
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM to the process group, SIGKILL if it has not gone after ``timeout`` seconds."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_until_up(url: str, path: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    """Until ``path`` answers 200 (for /livez: with `ok` true); fails with the log if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            answer = httpx.get(f"{url}{path}", timeout=2)
            if answer.status_code == 200 and (path != "/livez" or answer.json().get("ok")):
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url}{path} did not come up:\n" + log.read_text())


@contextmanager
def running_appliance(workdir: Path, credits: int = 100) -> Iterator[Appliance]:
    state = workdir / "var"
    boot = subprocess.run([*SEALFORGE, "admin", "bootstrap", "--state-dir", str(state)],
                          capture_output=True, text=True, check=True)
    first = json.loads(boot.stdout)
    subprocess.run([*SEALFORGE, "admin", "credits", "add", "--tenant", first["tenant_id"], "--credits",
                    str(credits), "--state-dir", str(state)], capture_output=True, text=True, check=True)
    port = free_port()
    log = workdir / "serve.log"
    env = {**os.environ, "SEALFORGE_SERVER_WORKERS": "1", "SEALFORGE_RATELIMIT_ENABLED": "false"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*SEALFORGE, "serve", "--host", "127.0.0.1", "--port", str(port), "--state-dir", str(state)],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, "/livez", proc, log)  # the API and the workers (jobs submitted before would wait)
        yield Appliance(url, first["api_key"], first["tenant_id"], state, log)
    finally:
        stop_group(proc)

