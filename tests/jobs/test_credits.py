"""Credits: estimated before, checked at submit, charged only on success."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from flask.testing import FlaskClient

from appliance.cli.main import cli
from tests.conftest import InlineJobs, auth
from tests.jobs.conftest import mock_schema


def test_estimate_post_and_get(client: FlaskClient, keys: dict[str, str]) -> None:
    body = {"kind": "mock", "params": {"schema": mock_schema(2_000_000)}}
    posted = client.post("/v1/estimate", json=body, headers=auth(keys["read"])).get_json()
    assert posted["estimated_credits"] == 2.0 and posted["training_tier"] == "CPU"
    got = client.get(
        "/v1/estimate", query_string={"kind": "mock", "params": json.dumps(body["params"])}, headers=auth(keys["read"])
    ).get_json()
    assert got == posted
    bad = client.get("/v1/estimate", query_string={"kind": "mock", "params": "{"}, headers=auth(keys["read"]))
    assert bad.status_code == 400 and bad.get_json()["error"]["details"][0]["field"] == "params"


def test_charged_only_on_success(client: FlaskClient, keys: dict[str, str], inline_jobs: InlineJobs) -> None:
    headers = auth(keys["admin"])
    before = client.get("/v1/billing/balance", headers=headers).get_json()["credits"]
    ok = client.post("/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(250_000)}}, headers=headers)
    inline_jobs.finish(client, headers, ok.get_json()["id"])
    canceled = client.post(
        "/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(1000)}}, headers=headers
    ).get_json()
    client.post(f"/v1/jobs/{canceled['id']}/cancel", headers=headers)
    inline_jobs.finish(client, headers, canceled["id"], expect="canceled")  # its task is taken and skipped
    after = client.get("/v1/billing/balance", headers=headers).get_json()["credits"]
    assert before - after == 0.25
    usage = client.get("/v1/usage", headers=headers).get_json()
    assert usage["by_kind"] == [{"kind": "mock", "jobs": 1, "credits": 0.25}] and usage["balance"] == after


def test_not_enough_credits_is_429(client: FlaskClient, db: Any) -> None:
    from appliance.services import identity

    poor = identity.create_tenant(db, "poor", credits=0.001)
    key = identity.create_key(db, poor["id"], ["admin"])["api_key"]
    response = client.post(
        "/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(5000)}}, headers=auth(key)
    )
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "CREDIT_LIMIT_EXCEEDED"
    operator = identity.create_key(db, poor["id"], ["operator"], allow_operator=True)["api_key"]
    topped = client.post("/v1/billing/topup", json={"credits": 1}, headers=auth(operator))
    assert topped.get_json()["credits"] == 1.001
    assert (
        client.post(
            "/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(5000)}}, headers=auth(key)
        ).status_code
        == 202
    )


def test_topup_needs_operator_and_a_positive_amount(
    client: FlaskClient, keys: dict[str, str], db: Any, tenant: dict[str, Any]
) -> None:
    from appliance.services import identity

    assert client.post("/v1/billing/topup", json={"credits": 5}, headers=auth(keys["generate"])).status_code == 403
    assert client.post("/v1/billing/topup", json={"credits": 5}, headers=auth(keys["admin"])).status_code == 403
    operator = identity.create_key(db, tenant["id"], ["operator"], allow_operator=True)["api_key"]
    zero = client.post("/v1/billing/topup", json={"credits": 0}, headers=auth(operator))
    assert zero.status_code == 400 and zero.get_json()["error"]["details"][0]["field"] == "credits"


def test_admin_credits_add_cli(state_dir: Path, tenant: dict[str, Any]) -> None:
    runner = CliRunner()
    out = runner.invoke(
        cli, ["admin", "credits", "add", "--tenant", tenant["id"], "--credits", "2.5", "--state-dir", str(state_dir)]
    )
    assert out.exit_code == 0 and json.loads(out.output)["credits"] == 1002.5
    bad = runner.invoke(
        cli, ["admin", "credits", "add", "--tenant", "ten_nope", "--credits", "1", "--state-dir", str(state_dir)]
    )
    assert bad.exit_code == 1
