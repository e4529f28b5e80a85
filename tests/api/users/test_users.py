"""`/v1/users` through the Flask test client: list (paged), create, get, disable, enable and a new
password, with the `admin` scope only, `operator` never grantable, another tenant's user a 404,
the error envelope for every bad input, the audit entry of each write, the /v1/client alias."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from appliance.services import identity
from tests.conftest import auth

PASSWORD = "correct horse battery staple"


def _make(client: FlaskClient, key: str, email: str, scopes: list[str] | None = None) -> dict[str, Any]:
    body = {"email": email, "password": PASSWORD, "scopes": scopes or ["read"]}
    answer = client.post("/v1/users", json=body, headers=auth(key))
    assert answer.status_code == 201, answer.get_json()
    return dict(answer.get_json())


def _login(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    return client.post("/v1/auth/login", json={"email": email, "password": password})


def _error(answer: Any) -> dict[str, Any]:
    body = answer.get_json()
    assert set(body) == {"error"}, body
    assert answer.headers["X-Correlation-Id"] == body["error"]["correlation_id"]
    return dict(body["error"])


def test_an_admin_key_makes_a_user_who_logs_in(client: FlaskClient, db: Any, tenant: dict[str, Any],
                                               keys: dict[str, str]) -> None:
    made = _make(client, keys["admin"], "Eng@Plant.example", ["generate", "read"])
    assert made["email"] == "eng@plant.example" and made["scopes"] == ["read", "generate"]
    assert made["tenant_id"] == tenant["id"] and made["disabled"] is False and made["id"].startswith("usr_")
    assert "password" not in made and "password_hash" not in made
    assert _login(client, "eng@plant.example").status_code == 200
    assert client.get(f"/v1/users/{made['id']}", headers=auth(keys["admin"])).get_json() == made
    entry = db.execute("SELECT * FROM audit_log WHERE path = '/v1/users' ORDER BY seq DESC").fetchone()
    assert entry["status"] == 201 and entry["tenant_id"] == tenant["id"] and entry["method"] == "POST"
    same_page = client.get("/admin/users", headers=auth(keys["admin"])).get_data(as_text=True)
    assert "eng@plant.example" in same_page  # the admin page and the API show the same users


def test_the_list_is_paged_oldest_first(client: FlaskClient, keys: dict[str, str]) -> None:
    emails = [_make(client, keys["admin"], f"u{i}@plant.example")["email"] for i in range(3)]
    first = client.get("/v1/users?limit=2", headers=auth(keys["admin"])).get_json()
    assert [u["email"] for u in first["data"]] == emails[:2]
    assert first["count"] == 2 and first["has_more"] is True and first["next_after"] == first["data"][-1]["id"]
    rest = client.get(f"/v1/users?limit=2&after={first['next_after']}", headers=auth(keys["admin"])).get_json()
    assert [u["email"] for u in rest["data"]] == emails[2:] and rest["has_more"] is False
    assert rest["next_after"] is None
    alias = client.get("/v1/client/users", headers=auth(keys["admin"])).get_json()
    assert [u["email"] for u in alias["data"]] == emails


def test_disable_ends_the_users_tokens_and_enable_lets_it_back(client: FlaskClient, keys: dict[str, str]) -> None:
    made = _make(client, keys["admin"], "eng@plant.example")
    tokens = _login(client, "eng@plant.example").get_json()
    off = client.post(f"/v1/users/{made['id']}/disable", headers=auth(keys["admin"]))
    assert off.status_code == 200 and off.get_json()["disabled"] is True and off.get_json()["sessions_ended"] == 1
    assert _login(client, "eng@plant.example").status_code == 401
    assert client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    on = client.post(f"/v1/users/{made['id']}/enable", headers=auth(keys["admin"]))
    assert on.status_code == 200 and on.get_json()["disabled"] is False
    assert _login(client, "eng@plant.example").status_code == 200


def test_a_new_password_replaces_the_old_and_ends_sessions(client: FlaskClient, keys: dict[str, str]) -> None:
    made = _make(client, keys["admin"], "eng@plant.example")
    assert _login(client, "eng@plant.example").status_code == 200
    changed = client.post(
        f"/v1/users/{made['id']}/password", json={"password": "a brand new passphrase"}, headers=auth(keys["admin"])
    )
    assert changed.status_code == 200 and changed.get_json()["sessions_ended"] == 1
    assert "password" not in changed.get_json()
    assert _login(client, "eng@plant.example").status_code == 401
    assert _login(client, "eng@plant.example", "a brand new passphrase").status_code == 200


def test_an_admin_user_cannot_disable_itself(client: FlaskClient, keys: dict[str, str]) -> None:
    made = _make(client, keys["admin"], "boss@plant.example", ["admin"])
    bearer = {"Authorization": "Bearer " + _login(client, "boss@plant.example").get_json()["access_token"]}
    refused = client.post(f"/v1/users/{made['id']}/disable", headers=bearer)
    assert refused.status_code == 400 and _error(refused)["details"][0]["field"] == "user_id"
    other = _make(client, keys["admin"], "eng@plant.example")
    assert client.post(f"/v1/users/{other['id']}/disable", headers=bearer).status_code == 200


def test_another_tenants_user_is_not_found(client: FlaskClient, db: Any, keys: dict[str, str]) -> None:
    elsewhere = identity.create_tenant(db, "elsewhere")
    stranger = identity.create_user(db, elsewhere["id"], "x@elsewhere.example", PASSWORD, ["admin"])
    for method, path, body in (
        ("GET", "", None), ("POST", "/disable", None), ("POST", "/enable", None),
        ("POST", "/password", {"password": "a brand new passphrase"}),
    ):
        answer = client.open(f"/v1/users/{stranger['id']}{path}", method=method, json=body, headers=auth(keys["admin"]))
        assert answer.status_code == 404 and _error(answer)["code"] == "NOT_FOUND", (method, path)
    assert identity.get_user(db, elsewhere["id"], stranger["id"])["disabled"] is False
    assert _login(client, "x@elsewhere.example").status_code == 200  # its password untouched
    listed = client.get("/v1/users", headers=auth(keys["admin"])).get_json()
    assert listed["data"] == []


ROUTES = (
    ("GET", "/v1/users", None),
    ("POST", "/v1/users", {"email": "a@plant.example", "password": PASSWORD, "scopes": ["read"]}),
    ("GET", "/v1/users/usr_x", None),
    ("POST", "/v1/users/usr_x/disable", None),
    ("POST", "/v1/users/usr_x/enable", None),
    ("POST", "/v1/users/usr_x/password", {"password": PASSWORD}),
)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_every_route_needs_admin(client: FlaskClient, keys: dict[str, str], method: str, path: str,
                                 body: Any) -> None:
    assert _error(client.open(path, method=method, json=body))["code"] == "UNAUTHENTICATED"
    for scope in ("read", "generate"):
        answer = client.open(path, method=method, json=body, headers=auth(keys[scope]))
        assert answer.status_code == 403 and _error(answer)["code"] == "INSUFFICIENT_SCOPE"
    assert client.get("/v1/users", headers=auth(keys["admin"])).get_json()["data"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": PASSWORD, "scopes": ["read"]}, "email"),
        ({"email": "not-an-email", "password": PASSWORD, "scopes": ["read"]}, "email"),
        ({"email": "a" * 250 + "@x.example", "password": PASSWORD, "scopes": ["read"]}, "email"),
        ({"email": "a@plant.example", "scopes": ["read"]}, "password"),
        ({"email": "a@plant.example", "password": "short", "scopes": ["read"]}, "password"),
        ({"email": "a@plant.example", "password": "p" * 1025, "scopes": ["read"]}, "password"),
        ({"email": "a@plant.example", "password": 12345678901234, "scopes": ["read"]}, "password"),
        ({"email": "a@plant.example", "password": PASSWORD}, "scopes"),
        ({"email": "a@plant.example", "password": PASSWORD, "scopes": []}, "scopes"),
        ({"email": "a@plant.example", "password": PASSWORD, "scopes": ["operator"]}, "scopes.0"),
        ({"email": "a@plant.example", "password": PASSWORD, "scopes": ["wizard"]}, "scopes.0"),
        ({"email": "a@plant.example", "password": PASSWORD, "scopes": "admin"}, "scopes"),
        ({"email": "a@plant.example", "password": PASSWORD, "scopes": ["read"], "tenant_id": "ten_x"}, "tenant_id"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(
    client: FlaskClient, db: Any, tenant: dict[str, Any], keys: dict[str, str], body: dict[str, Any], field: str
) -> None:
    answer = client.post("/v1/users", json=body, headers=auth(keys["admin"]))
    error = _error(answer)
    assert answer.status_code == 400 and error["code"] == "VALIDATION_FAILED", error
    assert field in [d["field"] for d in error["details"]], error
    if body.get("scopes") == ["operator"]:
        assert "operator" in error["message"] + str(error["details"])
    assert identity.list_users(db, tenant["id"]) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "password"), ({"password": "short"}, "password"), ({"password": None}, "password"),
     ({"password": PASSWORD, "email": "x@y.example"}, "email")],
)
def test_password_refuses_bad_input(client: FlaskClient, keys: dict[str, str], body: dict[str, Any],
                                    field: str) -> None:
    made = _make(client, keys["admin"], "eng@plant.example")
    answer = client.post(f"/v1/users/{made['id']}/password", json=body, headers=auth(keys["admin"]))
    error = _error(answer)
    assert answer.status_code == 400 and field in [d["field"] for d in error["details"]], error
    assert _login(client, "eng@plant.example").status_code == 200


def test_malformed_bodies_and_queries_answer_in_the_envelope(client: FlaskClient, keys: dict[str, str]) -> None:
    admin = auth(keys["admin"])
    broken = client.post("/v1/users", data=b"{", headers={**admin, "Content-Type": "application/json"})
    assert broken.status_code == 400 and _error(broken)["code"] == "MALFORMED_JSON"
    form = client.post("/v1/users", data={"email": "a@plant.example"}, headers=admin)
    assert form.status_code == 415 and _error(form)["code"] == "UNSUPPORTED_MEDIA_TYPE"
    bad_queries = (("limit=0", "limit"), ("limit=201", "limit"), ("limit=ten", "limit"), ("after=" + "x" * 65, "after"))
    for query, field in bad_queries:
        answer = client.get(f"/v1/users?{query}", headers=admin)
        assert answer.status_code == 400 and field in [d["field"] for d in _error(answer)["details"]], query
    unknown = client.get("/v1/users/usr_missing", headers=admin)
    assert unknown.status_code == 404 and _error(unknown)["code"] == "NOT_FOUND"
    for action in ("disable", "enable"):
        assert client.post(f"/v1/users/usr_missing/{action}", headers=admin).status_code == 404


def test_a_taken_email_is_a_conflict_and_a_replay_is_the_first_answer(
    client: FlaskClient, db: Any, keys: dict[str, str]
) -> None:
    first = _make(client, keys["admin"], "eng@plant.example")
    taken = client.post(
        "/v1/users", json={"email": "ENG@plant.example", "password": PASSWORD, "scopes": ["read"]},
        headers=auth(keys["admin"]),
    )
    assert taken.status_code == 409 and _error(taken)["code"] == "CONFLICT"
    once = {**auth(keys["admin"]), "Idempotency-Key": "make-ops-1"}
    body = {"email": "ops@plant.example", "password": PASSWORD, "scopes": ["generate"]}
    made = client.post("/v1/users", json=body, headers=once)
    again = client.post("/v1/users", json=body, headers=once)
    assert made.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == made.get_json()
    listed = client.get("/v1/users", headers=auth(keys["admin"])).get_json()
    assert [u["email"] for u in listed["data"]] == [first["email"], "ops@plant.example"]
