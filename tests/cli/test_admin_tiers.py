"""`sealforge admin tenants create --tier`: a tenant made with its tier, whose jobs then route by
it, and bad tiers refused before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from appliance import errors
from appliance.cli.main import cli
from appliance.services import identity
from appliance.store.open import open_db
from tests.conftest import auth, mock_schema


def admin(state_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["admin", *args, "--state-dir", str(state_dir)])
    return result.exit_code, result.output


def test_create_with_a_tier_and_its_jobs_use_it(state_dir: Path, client: FlaskClient) -> None:
    code, out = admin(state_dir, "tenants", "create", "plant-free", "--tier", "free", "--credits", "5")
    assert code == 0, out
    free = json.loads(out)
    assert free["tier"] == "free" and free["credits"] == 5
    code, out = admin(state_dir, "tenants", "create", "plant-std")
    assert code == 0 and json.loads(out)["tier"] == "standard"
    listed = {t["name"]: t["tier"] for t in json.loads(admin(state_dir, "tenants", "list")[1])}
    assert listed == {"plant-free": "free", "plant-std": "standard"}
    key = json.loads(admin(state_dir, "keys", "create", "--tenant", free["id"], "--scopes", "generate")[1])
    job = client.post(
        "/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(5)}}, headers=auth(key["api_key"])
    )
    assert job.status_code == 202 and job.get_json()["queue"] == "free"


@pytest.mark.parametrize("tier", ["gold", "FREE", "", " free"])
def test_a_bad_tier_is_a_usage_error_and_writes_nothing(state_dir: Path, tier: str) -> None:
    code, out = admin(state_dir, "tenants", "create", "plant-x", "--tier", tier)
    assert code == 2 and "--tier" in out and "free" in out and "standard" in out, out
    assert json.loads(admin(state_dir, "tenants", "list")[1]) == []


def test_the_service_refuses_a_bad_tier_too(state_dir: Path) -> None:
    conn = open_db(state_dir)
    with pytest.raises(errors.AppError) as caught:
        identity.create_tenant(conn, "plant-y", tier="gold")
    assert caught.value.code == "VALIDATION_FAILED" and caught.value.details[0].field == "tier"
    assert identity.create_tenant(conn, "plant-y")["tier"] == "standard"
