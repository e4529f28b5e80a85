"""A retry that adds or drops the trailing slash is the same request for its Idempotency-Key:
every route answers both ways, so a client (or a proxy) normalising the URL between attempts
must not run the job twice nor get a 409."""

from __future__ import annotations

from typing import Any

import blake3
from flask.testing import FlaskClient

from appliance.services import idempotency
from tests.conftest import auth, mock_schema

BODY = {"kind": "mock", "params": {"schema": mock_schema(5)}, "seed": 1}


def _jobs(client: FlaskClient, keys: dict[str, str]) -> list[str]:
    return [j["id"] for j in client.get("/v1/jobs", headers=auth(keys["read"])).get_json()["data"]]


def test_a_retry_with_a_trailing_slash_replays_the_submit(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = {**auth(keys["generate"]), "Idempotency-Key": "slash-1"}
    first = client.post("/v1/jobs", json=BODY, headers=headers)
    again = client.post("/v1/jobs/", json=BODY, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert again.get_json()["id"] == first.get_json()["id"] == again.headers["X-Job-Id"]
    assert _jobs(client, keys) == [first.get_json()["id"]]


def test_a_retry_without_the_slash_replays_too(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = {**auth(keys["generate"]), "X-Idempotency-Key": "slash-2"}
    mock = {k: v for k, v in BODY.items() if k != "kind"}
    first = client.post("/v1/mock/jobs/", json=mock, headers=headers)
    again = client.post("/v1/mock/jobs", json=mock, headers=headers)
    assert first.status_code == 202 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == first.get_json()["id"] and len(_jobs(client, keys)) == 1


def test_the_slash_does_not_hide_a_changed_body_or_another_route(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = {**auth(keys["generate"]), "Idempotency-Key": "slash-3"}
    assert client.post("/v1/jobs", json=BODY, headers=headers).status_code == 202
    changed = client.post("/v1/jobs/", json={**BODY, "seed": 2}, headers=headers)
    assert changed.status_code == 409 and changed.get_json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    other = client.post("/v1/mock/jobs/", json=BODY, headers=headers)
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(_jobs(client, keys)) == 1


def test_a_record_stored_with_its_slash_still_matches(
    client: FlaskClient, db: Any, keys: dict[str, str], tenant: dict[str, Any]
) -> None:
    body = b'{"name": "kept", "scopes": ["read"]}'
    digest = blake3.blake3(body).hexdigest()
    assert idempotency.begin(db, tenant["id"], "old-1", "POST", "/v1/keys/", digest, 3600) is None
    db.execute("UPDATE idempotency_keys SET path = '/v1/keys/' WHERE key = 'old-1'")
    idempotency.finish(db, tenant["id"], "old-1", 201, {"Content-Type": "application/json"}, b'{"id": "key_x"}')
    replay = client.post(
        "/v1/keys", data=body, content_type="application/json",
        headers={**auth(keys["admin"]), "Idempotency-Key": "old-1"},
    )
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == {"id": "key_x"}
