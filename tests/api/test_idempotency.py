"""Idempotency-Key: replay, conflicting reuse, in-flight, expiry, and the X- synonym."""

from __future__ import annotations

import time
from typing import Any

from flask.testing import FlaskClient

from appliance.services import idempotency
from tests.conftest import auth


def test_replay_returns_first_response(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = {**auth(keys["admin"]), "Idempotency-Key": "abc-1"}
    first = client.post("/v1/keys", json={"name": "once", "scopes": ["read"]}, headers=headers)
    second = client.post("/v1/keys", json={"name": "once", "scopes": ["read"]}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert first.get_json() == second.get_json()
    listed = client.get("/v1/keys", headers=auth(keys["admin"])).get_json()
    assert sum(k["name"] == "once" for k in listed["data"]) == 1


def test_synonym_header_is_the_same_key(client: FlaskClient, keys: dict[str, str]) -> None:
    body = {"name": "syn", "scopes": ["read"]}
    first = client.post("/v1/keys", json=body, headers={**auth(keys["admin"]), "Idempotency-Key": "k2"})
    second = client.post("/v1/keys", json=body, headers={**auth(keys["admin"]), "X-Idempotency-Key": "k2"})
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.get_json()["id"] == second.get_json()["id"]


def test_same_key_different_body_is_409(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = {**auth(keys["admin"]), "Idempotency-Key": "abc-2"}
    client.post("/v1/keys", json={"name": "a", "scopes": ["read"]}, headers=headers)
    response = client.post("/v1/keys", json={"name": "b", "scopes": ["read"]}, headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_same_key_while_in_flight_is_409_with_hint(
    client: FlaskClient, db: Any, keys: dict[str, str], tenant: dict[str, Any]
) -> None:
    import blake3

    body = b'{"scopes": ["read"]}'
    idempotency.begin(db, tenant["id"], "busy", "POST", "/v1/keys", blake3.blake3(body).hexdigest(), 3600)
    response = client.post(
        "/v1/keys",
        data=body,
        content_type="application/json",
        headers={**auth(keys["admin"]), "Idempotency-Key": "busy"},
    )
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "IDEMPOTENCY_IN_PROGRESS" and "Retry" in error["hint"]


def test_keys_are_per_tenant_and_expire(
    client: FlaskClient, db: Any, keys: dict[str, str], tenant: dict[str, Any]
) -> None:
    headers = {**auth(keys["admin"]), "Idempotency-Key": "old"}
    first = client.post("/v1/keys", json={"scopes": ["read"]}, headers=headers).get_json()
    db.execute("UPDATE idempotency_keys SET created_at = ?", (time.time() - 25 * 3600,))
    again = client.post("/v1/keys", json={"scopes": ["read"]}, headers=headers)
    assert "Idempotent-Replayed" not in again.headers
    assert again.get_json()["id"] != first["id"]
    assert idempotency.purge(db, 3600) == 0


def test_server_error_releases_the_key(db: Any, tenant: dict[str, Any]) -> None:
    assert idempotency.begin(db, tenant["id"], "k", "POST", "/x", "h", 60) is None
    idempotency.finish(db, tenant["id"], "k", 500, {}, b"")
    assert idempotency.begin(db, tenant["id"], "k", "POST", "/x", "h", 60) is None


def test_overlong_key_is_400(client: FlaskClient, keys: dict[str, str]) -> None:
    response = client.post(
        "/v1/keys", json={"scopes": ["read"]}, headers={**auth(keys["admin"]), "Idempotency-Key": "x" * 300}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["field"] == "Idempotency-Key"
