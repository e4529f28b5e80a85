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
        _wait_live(url, proc, log)
        yield Appliance(url, first["api_key"], first["tenant_id"], state, log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_live(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until /livez says the API and the workers are up (jobs submitted before would wait anyway)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/livez", timeout=2).json().get("ok"):
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    raise AssertionError("the appliance did not come up:\n" + log.read_text())
