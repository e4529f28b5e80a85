"""The OpenAPI document is one generators can use (issue #15): the spec a live appliance serves
passes openapi-spec-validator, openapi-python-client turns it into a client package, and that
package, imported as generated, talks to the appliance over loopback."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import mock_schema
from tests.live_appliance import api_process, tenant_with_key

PACKAGE = "sf_generated"  # not `sealforge_client`, the SDK's own package
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@dataclass
class Live:
    url: str
    key: str
    tenant_id: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """`sealforge api` on a free loopback port, with a tenant and a `generate` key. One for the
    module: the spec test only reads, so the client test still starts from an empty tenant."""
    work = tmp_path_factory.mktemp("openapi-live")
    state = work / "var"
    tenant_id, key = tenant_with_key(state, "acme", ["generate"], credits=100)
    with api_process(state, work / "api.log") as server:
        yield Live(server.url, key, tenant_id)


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
    # imported here, not at the top: pydantic and jsonschema-path cost every collecting process 0.5 s of CPU
    from openapi_spec_validator import validate

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
