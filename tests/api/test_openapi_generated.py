"""The OpenAPI document is one generators can use (issue #15): the spec a live appliance serves
passes openapi-spec-validator, openapi-python-client turns it into a client package, and that
package, imported as generated, talks to the appliance over loopback."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from appliance.cli.release import release
from appliance.services import identity
from appliance.store.open import open_db
from tests.conftest import free_port, mock_schema

PACKAGE = "sf_generated"  # not `sealforge_client`, the SDK's own package
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@dataclass
class Live:
    url: str
    key: str
    tenant_id: str


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """`sealforge api` on a free loopback port, with a tenant and a `generate` key."""
    state = tmp_path / "var"
    db = open_db(state)
    tenant = identity.create_tenant(db, "acme", credits=100)
    key = identity.create_key(db, tenant["id"], ["generate"])["api_key"]
    db.close()
    release(state)
    port = free_port()
    log = tmp_path / "api.log"
    env = {**os.environ, "SEALFORGE_SERVER_WORKERS": "1"}
    command = [sys.executable, "-m", "appliance.cli.main", "api", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "--state-dir", str(state)], stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield Live(url, key, tenant["id"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the API did not answer /healthz:\n" + log.read_text())


@pytest.fixture
def generated(live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The client package openapi-python-client makes from the live /openapi.json, imported."""
    spec_path = tmp_path / "openapi.json"
    spec_path.write_bytes(httpx.get(f"{live.url}/openapi.json", timeout=10).content)
    config = tmp_path / "generator.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\nproject_name_override: sf-generated\n")
    out = tmp_path / "generated" / PACKAGE
    # PATH: the generator formats its output with ruff, which lies beside this interpreter
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [str(GENERATOR), "generate", "--path", str(spec_path), "--meta", "none", "--config", str(config)]
    done = subprocess.run(
        [*command, "--output-path", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr  # nothing left out of the client
    monkeypatch.syspath_prepend(str(out.parent))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_served_spec_is_valid_openapi_31(live: Live) -> None:
    spec = httpx.get(f"{live.url}/openapi.json", timeout=10).json()
    validate(spec)
    assert spec["openapi"] == "3.1.0"


def test_generated_client_calls_the_appliance(live: Live, generated: Any) -> None:
    whoami_op = importlib.import_module(f"{PACKAGE}.api.auth.get_v1_auth_whoami")
    list_jobs = importlib.import_module(f"{PACKAGE}.api.jobs.get_v1_jobs")
    submit = importlib.import_module(f"{PACKAGE}.api.jobs.post_v1_jobs")
    billing_op = importlib.import_module(f"{PACKAGE}.api.billing.get_v1_billing")
    job_submit = importlib.import_module(f"{PACKAGE}.models.job_submit").JobSubmit
    client = generated.AuthenticatedClient(
        base_url=live.url, token=live.key, prefix="", auth_header_name="X-API-Key", raise_on_unexpected_status=True
    )

    who = whoami_op.sync_detailed(client=client)
    assert who.status_code == 200
    assert who.parsed.tenant_id == live.tenant_id
    assert "X-Rate-Limit-Remaining" in who.headers and "X-Correlation-Id" in who.headers

    body = job_submit.from_dict({"kind": "mock", "params": {"schema": mock_schema(100)}, "seed": 3})
    first = submit.sync_detailed(client=client, body=body, idempotency_key="gen-client-1")
    assert first.status_code == 202, first.content
    job_id = first.parsed.id
    assert first.headers["X-Job-Id"] == job_id
    assert int(first.headers["X-Rate-Limit-Remaining"]) >= 0  # the pipeline's, on every answer
    again = submit.sync_detailed(client=client, body=body, x_idempotency_key="gen-client-1")  # the synonym
    assert again.status_code == 202 and again.parsed.id == job_id
    assert again.headers["Idempotent-Replayed"] == "true"

    page = list_jobs.sync_detailed(client=client, limit=10)
    assert page.status_code == 200
    assert [job.id for job in page.parsed.data] == [job_id]

    billing = billing_op.sync_detailed(client=client)
    assert billing.status_code == 200 and billing.parsed.plan == "standard"
    assert billing.parsed.period.basis == "calendar_month_utc"

    denied = whoami_op.sync_detailed(
        client=generated.AuthenticatedClient(
            base_url=live.url, token="sl_live_wrong", prefix="", auth_header_name="X-API-Key"
        )
    )
    assert denied.status_code == 401 and denied.parsed.error.code == "UNAUTHENTICATED"
