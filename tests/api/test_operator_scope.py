"""Credits are the appliance operator's to grant: only an `operator` key, which only the admin CLI
can mint, tops a tenant up; a tenant's own admin key cannot, and the API cannot mint one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from appliance.cli.main import cli
from appliance.errors import AppError
from appliance.services import identity
from tests.conftest import auth


def _cli(state_dir: Path, *args: str) -> Any:
    out = CliRunner().invoke(cli, [*args, "--state-dir", str(state_dir)])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def _balance(client: FlaskClient, key: str) -> float:
    return float(client.get("/v1/billing/balance", headers=auth(key)).get_json()["credits"])


def test_a_tenant_admin_cannot_top_up_its_own_credits(
    client: FlaskClient, keys: dict[str, str], tenant: dict[str, Any]
) -> None:
    before = _balance(client, keys["admin"])
    response = client.post("/v1/billing/topup", json={"credits": 1_000_000}, headers=auth(keys["admin"]))
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "INSUFFICIENT_SCOPE" and "operator" in error["message"]
    assert _balance(client, keys["admin"]) == before


def test_an_operator_key_minted_by_the_cli_tops_up(
    client: FlaskClient, keys: dict[str, str], tenant: dict[str, Any], state_dir: Path
) -> None:
    minted = _cli(state_dir, "admin", "keys", "create", "--tenant", tenant["id"], "--scopes", "operator")
    assert minted["scopes"] == ["operator"]
    response = client.post("/v1/billing/topup", json={"credits": 100, "note": "PO 42"}, headers=auth(minted["api_key"]))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["credits"] == 1100
    assert _balance(client, keys["read"]) == 1100
    # operator sits above admin: the admin routes and the rest are open to it
    assert client.get("/v1/keys", headers=auth(minted["api_key"])).status_code == 200
    me = client.get("/v1/auth/whoami", headers=auth(minted["api_key"])).get_json()
    assert me["effective_scopes"] == ["read", "generate", "admin", "operator"]


@pytest.mark.parametrize("scopes", [["operator"], ["admin", "operator"]])
@pytest.mark.parametrize("minter", ["admin", "operator"])
def test_the_api_cannot_mint_an_operator_key(
    client: FlaskClient, keys: dict[str, str], db: Any, tenant: dict[str, Any], scopes: list[str], minter: str
) -> None:
    headers = auth(
        keys["admin"]
        if minter == "admin"
        else identity.create_key(db, tenant["id"], ["operator"], allow_operator=True)["api_key"]
    )
    count = len(client.get("/v1/keys", headers=headers).get_json()["data"])
    response = client.post("/v1/keys", json={"scopes": scopes}, headers=headers)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert any(
        d["field"].startswith("scopes") and "sealforge admin keys create" in d["message"] for d in error["details"]
    )
    assert len(client.get("/v1/keys", headers=headers).get_json()["data"]) == count


def test_services_refuse_operator_unless_the_cli_asks(db: Any, tenant: dict[str, Any]) -> None:
    with pytest.raises(AppError) as raised:
        identity.create_key(db, tenant["id"], "read,operator")
    assert raised.value.code == "VALIDATION_FAILED"
    with pytest.raises(AppError):
        identity.create_user(db, tenant["id"], "op@plant.example", "correct horse battery", "operator")
    user = identity.create_user(
        db, tenant["id"], "op@plant.example", "correct horse battery", "operator", allow_operator=True
    )
    assert user["scopes"] == ["operator"]


def test_operator_keeps_the_admin_meaning_on_opc_ua() -> None:
    from appliance.kinds.simulation.live import opcua_role

    assert opcua_role("operator") == opcua_role("admin") == "admin"
    assert (opcua_role("generate"), opcua_role("read"), opcua_role("read,generate")) == (
        "operator",
        "viewer",
        "operator",
    )
