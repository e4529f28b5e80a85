"""API keys and JWT logins: issue, use, refresh, revoke."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
from click.testing import CliRunner
from flask.testing import FlaskClient

from appliance.cli.main import cli
from appliance.services import identity
from tests.conftest import auth

PASSWORD = "correct horse battery"


def make_user(db: Any, tenant: dict[str, Any], scopes: str = "read,generate") -> dict[str, Any]:
    return identity.create_user(db, tenant["id"], "Eng@Plant.example", PASSWORD, scopes)


def login(client: FlaskClient) -> dict[str, Any]:
    response = client.post("/v1/auth/login", json={"email": "eng@plant.example", "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_whoami_with_key(client: FlaskClient, keys: dict[str, str], tenant: dict[str, Any]) -> None:
    body = client.get("/v1/auth/whoami", headers=auth(keys["generate"])).get_json()
    assert body["tenant_id"] == tenant["id"]
    assert body["kind"] == "key"
    assert body["scopes"] == ["generate"]
    assert body["effective_scopes"] == ["read", "generate"]


def test_login_whoami_refresh_logout(client: FlaskClient, db: Any, tenant: dict[str, Any]) -> None:
    user = make_user(db, tenant)
    tokens = login(client)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = client.get("/v1/auth/whoami", headers=bearer).get_json()
    assert me["caller"] == user["id"] and me["kind"] == "user"

    refreshed = client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    again = client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401 and again.get_json()["error"]["code"] == "TOKEN_EXPIRED"

    new = refreshed.get_json()
    new_bearer = {"Authorization": f"Bearer {new['access_token']}"}
    out = client.post("/v1/auth/logout", json={"refresh_token": new["refresh_token"]}, headers=new_bearer)
    assert out.status_code == 204
    after = client.get("/v1/auth/whoami", headers=new_bearer)
    assert after.status_code == 401 and after.get_json()["error"]["code"] == "TOKEN_EXPIRED"
    assert client.post("/v1/auth/refresh", json={"refresh_token": new["refresh_token"]}).status_code == 401


def test_wrong_password_is_401(client: FlaskClient, db: Any, tenant: dict[str, Any]) -> None:
    make_user(db, tenant)
    response = client.post("/v1/auth/login", json={"email": "eng@plant.example", "password": "wrong password!"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "INVALID_CREDENTIALS"
    unknown = client.post("/v1/auth/login", json={"email": "nobody@plant.example", "password": "whatever"})
    assert unknown.get_json()["error"]["code"] == "INVALID_CREDENTIALS"


def test_tampered_and_expired_bearer_are_401(
    client: FlaskClient, db: Any, tenant: dict[str, Any], state_dir: Any
) -> None:
    make_user(db, tenant)
    token = login(client)["access_token"]
    forged = jwt.encode({**jwt.decode(token, options={"verify_signature": False}), "scp": "admin"}, "g" * 32, "HS256")
    assert client.get("/v1/auth/whoami", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    from appliance.services.tokens import jwt_secret

    claims = jwt.decode(token, options={"verify_signature": False})
    expired = jwt.encode({**claims, "exp": int(time.time()) - 5}, jwt_secret(state_dir / "keys"), "HS256")
    response = client.get("/v1/auth/whoami", headers={"Authorization": f"Bearer {expired}"})
    assert response.get_json()["error"]["code"] == "TOKEN_EXPIRED"
    assert client.get("/v1/auth/whoami", headers={"Authorization": "Basic abc"}).status_code == 401


def test_key_create_list_revoke(client: FlaskClient, keys: dict[str, str]) -> None:
    admin = auth(keys["admin"])
    created = client.post("/v1/keys", json={"name": "rig 4", "scopes": ["read"]}, headers=admin)
    assert created.status_code == 201
    new = created.get_json()
    assert new["api_key"].startswith("sl_live_") and new["scopes"] == ["read"]
    assert client.get("/v1/auth/whoami", headers=auth(new["api_key"])).status_code == 200

    listed = client.get("/v1/keys", headers=admin).get_json()
    assert new["id"] in {k["id"] for k in listed["data"]}
    assert all("api_key" not in k and "key_hash" not in k for k in listed["data"])

    revoked = client.delete(f"/v1/keys/{new['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    assert client.get("/v1/auth/whoami", headers=auth(new["api_key"])).status_code == 401


def test_key_pagination(client: FlaskClient, keys: dict[str, str]) -> None:
    admin = auth(keys["admin"])
    for i in range(5):
        client.post("/v1/keys", json={"name": f"k{i}", "scopes": ["read"]}, headers=admin)
    seen: list[str] = []
    after = ""
    while True:
        body = client.get(f"/v1/keys?limit=3&after={after}", headers=admin).get_json()
        seen += [k["id"] for k in body["data"]]
        assert body["count"] == len(body["data"])
        if not body["has_more"]:
            assert body["next_after"] is None
            break
        after = body["next_after"]
    assert len(seen) == 8 and seen == sorted(seen)


def test_stored_keys_are_hashed(db: Any, keys: dict[str, str]) -> None:
    stored = [r["key_hash"] for r in db.execute("SELECT key_hash FROM api_keys")]
    assert all(k not in stored for k in keys.values())


def test_admin_set_password_rotates_it_and_ends_sessions(
    client: FlaskClient, db: Any, tenant: dict[str, Any], state_dir: Path
) -> None:
    make_user(db, tenant)
    tokens = login(client)
    new_password = "another long passphrase"
    result = CliRunner().invoke(
        cli,
        ["admin", "users", "set-password", "--email", "ENG@plant.example", "--password-stdin", "--state-dir",
         str(state_dir)],
        input=new_password + "\n",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["sessions_ended"] == 1
    old = client.post("/v1/auth/login", json={"email": "eng@plant.example", "password": PASSWORD})
    assert old.status_code == 401
    stale = client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert stale.status_code == 401
    fresh = client.post("/v1/auth/login", json={"email": "eng@plant.example", "password": new_password})
    assert fresh.status_code == 200


def test_admin_set_password_bad_inputs(db: Any, tenant: dict[str, Any], state_dir: Path) -> None:
    make_user(db, tenant)
    base = ["admin", "users", "set-password", "--password-stdin", "--state-dir", str(state_dir)]
    short = CliRunner().invoke(cli, [*base, "--email", "eng@plant.example"], input="short\n")
    assert short.exit_code == 1 and "12 characters" in short.output
    unknown = CliRunner().invoke(cli, [*base, "--email", "nobody@plant.example"], input="a long enough one\n")
    assert unknown.exit_code == 1 and "NOT_FOUND" in unknown.output
    missing = CliRunner().invoke(cli, base, input="a long enough one\n")
    assert missing.exit_code == 2 and "--email" in missing.output
