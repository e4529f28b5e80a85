"""The state dir is private whatever the umask: dirs 0700, files 0600 (#12 item 13), and
`sealforge serve` on an empty state dir starts without a migration race (#12 item 17).

Real processes: `sealforge serve`, `sealforge admin …`, started with umask 022 as a careless shell
or service manager would, then an upload and a job through the API so blobs, work dirs, queue and
rate-limit databases and signing keys all exist before the whole tree is walked.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from appliance.store.migrations import latest_version
from tests.conftest import free_port, mock_schema

REPO = Path(__file__).resolve().parents[2]
CSV = b"id,name,flow\n1,pump a,10.5\n2,pump b,11.25\n3,valve c,9.0\n"


def loose_umask() -> None:
    os.umask(0o022)


def sealforge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance.cli.main", *args],
        capture_output=True,
        text=True,
        preexec_fn=loose_umask,
        cwd=REPO,
        timeout=60,
    )


def call(url: str, key: str, data: bytes | None = None, content_type: str = "application/json") -> Any:
    headers = {"X-API-Key": key, "Content-Type": content_type}
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_until(check: Any, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def not_private(root: Path) -> list[str]:
    """Every directory (root included) must be 0700 and every regular file 0600."""
    wrong = []
    for folder, _dirs, files in os.walk(root):
        for path in [Path(folder), *(Path(folder) / f for f in files)]:
            mode = path.lstat().st_mode
            wanted = 0o700 if stat.S_ISDIR(mode) else 0o600 if stat.S_ISREG(mode) else None
            if wanted is not None and stat.S_IMODE(mode) != wanted:
                wrong.append(f"{path.relative_to(root.parent)} {oct(stat.S_IMODE(mode))}")
    return wrong


@pytest.mark.heavy
def test_serve_on_empty_state_dir_is_private_and_migrates_once(tmp_path: Path) -> None:
    state = tmp_path / "var"  # does not exist: serve makes it
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "appliance.cli.main", "serve", "--port", str(port), "--state-dir", str(state)],
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=loose_umask,
            cwd=REPO,
            start_new_session=True,
        )
    try:
        wait_until(lambda: urllib.request.urlopen(f"{base}/healthz", timeout=2).status == 200, "/healthz")
        boot = sealforge("admin", "bootstrap", "--state-dir", str(state))
        assert boot.returncode == 0, boot.stderr
        tenant, key = json.loads(boot.stdout)["tenant_id"], json.loads(boot.stdout)["api_key"]
        topped = sealforge("admin", "credits", "add", "--tenant", tenant, "--credits", "1", "--state-dir", str(state))
        assert topped.returncode == 0, topped.stderr

        dataset = call(f"{base}/v1/datasets?name=pumps.csv", key, CSV, "text/csv")
        assert dataset["id"].startswith("ds_")
        job = call(f"{base}/v1/jobs", key, json.dumps({"kind": "mock", "params": {"schema": mock_schema(50)}}).encode())

        def finished() -> Any:
            current = call(f"{base}/v1/jobs/{job['job_id']}", key)
            return current if current["status"] in {"succeeded", "failed", "canceled"} else None

        done = wait_until(finished, "the mock job", timeout=60)
        assert done["status"] == "succeeded", done
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    output = log.read_text(errors="replace")
    assert "Traceback" not in output and "OperationalError" not in output, output
    assert proc.returncode == 0, output

    made = {p.relative_to(state).parts[0] for p in state.rglob("*")}
    assert {"sealforge.db", "ratelimit.buckets", "queue-default.db", "blobs", "keys", "work"} <= made, made
    assert any((state / "blobs").rglob("*")) and (state / "keys" / "bootstrap.key").is_file()
    assert not_private(state) == []
    with sqlite3.connect(state / "sealforge.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == latest_version()


def test_state_dir_of_an_earlier_version_is_made_private(tmp_path: Path) -> None:
    """An upgrade: a state dir written under umask 022 (0755 dirs, 0644 files) by a version that
    did not restrict modes is fixed on the first start, database, WAL, blobs and keys included."""
    state = tmp_path / "var"
    old_umask = os.umask(0o022)
    try:
        (state / "blobs" / "ab").mkdir(parents=True)
        (state / "blobs" / "ab" / "cdef").write_bytes(b"upload")
        (state / "keys" / "signing").mkdir(parents=True)
        (state / "keys" / "bootstrap.key").write_text("{}")
        (state / "work" / "job_x").mkdir(parents=True)
        conn = sqlite3.connect(state / "sealforge.db")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE legacy (x)")  # left open: its -wal and -shm stay on disk
    finally:
        os.umask(old_umask)
    assert (state / "sealforge.db-wal").exists() and len(not_private(state)) > 5

    listed = sealforge("admin", "tenants", "list", "--state-dir", str(state))
    conn.close()
    assert listed.returncode == 0, listed.stderr
    assert not_private(state) == []


def test_a_restored_database_is_made_private_again(tmp_path: Path) -> None:
    """After the one-time walk, each start still fixes the state dir itself and its top level."""
    state = tmp_path / "var"
    assert sealforge("admin", "tenants", "list", "--state-dir", str(state)).returncode == 0
    os.chmod(state, 0o755)
    os.chmod(state / "sealforge.db", 0o644)
    assert sealforge("admin", "tenants", "list", "--state-dir", str(state)).returncode == 0
    assert not_private(state) == []


def test_opcua_certificate_pair_is_private(tmp_path: Path) -> None:
    from simulators.protocols.certs import ensure_server_certificate

    old_umask = os.umask(0o022)
    try:
        pair = ensure_server_certificate(tmp_path / "keys" / "opcua", "urn:sealforge:test", ["127.0.0.1"])
    finally:
        os.umask(old_umask)
    for path in (pair.cert_path, pair.key_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys" / "opcua").stat().st_mode) == 0o700


def test_systemd_units_and_tmpfiles_are_private() -> None:
    systemd = REPO / "systemd"
    for unit in ("sealforge-api.service", "sealforge-worker@.service"):
        assert "UMask=0077" in (systemd / unit).read_text().splitlines(), unit
    lines = [line.split() for line in (systemd / "sealforge.tmpfiles.conf").read_text().splitlines()]
    state_lines = [
        fields for fields in lines if fields and fields[0] == "d" and fields[1].startswith("/var/lib/sealforge")
    ]
    assert state_lines and all(fields[2] == "0700" for fields in state_lines), state_lines
