"""The admin pages through the Flask test client: users made and disabled, credits, the audit
log's search and chain check, the signing keys; bad input and the `admin` scope's refusals."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from appliance.services import identity
from tests.conftest import auth, mock_schema
from tests.web.conftest import PASSWORD, Users, log_in, session_client

ADMIN_PAGES = ("/admin/users", "/admin/credits", "/admin/audit", "/admin/audit/verify", "/admin/signing-keys")


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_need_the_admin_scope(app: Flask, users: Users, path: str) -> None:
    client, _ = session_client(app, users["generate"])
    answer = client.get(path)
    assert answer.status_code == 403 and "INSUFFICIENT_SCOPE" in answer.get_data(as_text=True)
    admin, _ = session_client(app, users["admin"])
    assert admin.get(path).status_code == 200


def test_an_admin_makes_a_user_who_can_log_in_then_disables_it(app: Flask, db: Any, users: Users) -> None:
    client, csrf = session_client(app, users["admin"])
    page = client.get("/admin/users").get_data(as_text=True)
    assert users["admin"] in page and ">you<" in page  # no Disable button on one's own row
    form = {"email": "Operator@Plant.example", "password": PASSWORD, "scopes": ["read", "generate"]}
    made = client.post("/admin/users", data={"csrf_token": csrf, **form})
    text = made.get_data(as_text=True)
    assert made.status_code == 201 and 'data-testid="created-user"' in text and "operator@plant.example" in text
    assert PASSWORD not in text
    newcomer = app.test_client()
    assert log_in(newcomer, "operator@plant.example").status_code == 303
    assert newcomer.get("/jobs").status_code == 200
    user_id = next(u["id"] for u in identity.list_users(db, users.tenant_id) if u["email"].startswith("operator"))
    assert client.post(f"/admin/users/{user_id}/disable", data={}).status_code == 403  # no CSRF token
    disabled = client.post(f"/admin/users/{user_id}/disable", data={"csrf_token": csrf})
    assert disabled.status_code == 200 and "disabled" in disabled.get_data(as_text=True)
    assert newcomer.get("/jobs", headers={"Accept": "text/html"}).status_code == 302  # its session ended
    assert log_in(app.test_client(), "operator@plant.example").status_code != 303
    enabled = client.post(f"/admin/users/{user_id}/enable", data={"csrf_token": csrf})
    assert enabled.status_code == 200
    assert log_in(app.test_client(), "operator@plant.example").status_code == 303


@pytest.mark.parametrize(
    ("form", "status", "shown"),
    [
        ({"email": "not-an-email", "password": PASSWORD, "scopes": "read"}, 400, "not an email address"),
        ({"email": "a@plant.example", "password": "short", "scopes": "read"}, 400, "at least 12 characters"),
        ({"email": "b@plant.example", "password": PASSWORD, "scopes": "operator"}, 400, "operator"),
        ({"email": "c@plant.example", "password": PASSWORD, "scopes": "wizard"}, 400, "wizard"),
        ({"email": "admin@plant.example", "password": PASSWORD, "scopes": "read"}, 409, "exists already"),
    ],
)
def test_user_creation_refuses_bad_input_on_the_form(
    app: Flask, users: Users, form: dict[str, str], status: int, shown: str
) -> None:
    client, csrf = session_client(app, users["admin"])
    answer = client.post("/admin/users", data={"csrf_token": csrf, **form})
    text = answer.get_data(as_text=True)
    assert answer.status_code == status and 'data-testid="user-error"' in text and shown in text


def test_disable_refuses_oneself_unknown_users_and_other_tenants(app: Flask, db: Any, users: Users) -> None:
    client, csrf = session_client(app, users["admin"])
    me = next(u["id"] for u in identity.list_users(db, users.tenant_id) if u["email"] == users["admin"])
    own = client.post(f"/admin/users/{me}/disable", data={"csrf_token": csrf})
    assert own.status_code == 400 and "logged in as" in own.get_data(as_text=True)
    unknown = client.post("/admin/users/usr_01JD0000000000000000000000/disable", data={"csrf_token": csrf})
    assert unknown.status_code == 404
    missing = client.post("/admin/users/usr_01JD0000000000000000000000/enable", data={"csrf_token": csrf})
    assert missing.status_code == 404
    other = identity.create_tenant(db, "elsewhere")
    stranger = identity.create_user(db, other["id"], "x@elsewhere.example", PASSWORD, ["read"])
    assert client.post(f"/admin/users/{stranger['id']}/disable", data={"csrf_token": csrf}).status_code == 404
    reader, token = session_client(app, users["read"])
    assert reader.post(f"/admin/users/{me}/disable", data={"csrf_token": token}).status_code == 403
    assert reader.post("/admin/users", data={"csrf_token": token, "email": "z@p.example"}).status_code == 403


def test_audit_search_and_chain_check(app: Flask, users: Users, keys: dict[str, str]) -> None:
    body = {"kind": "mock", "params": {"schema": mock_schema(5)}}
    app.test_client().post("/v1/jobs", json=body, headers=auth(keys["generate"]))
    app.test_client().post("/v1/jobs", json={"kind": "nope"}, headers=auth(keys["generate"]))
    client, _ = session_client(app, users["admin"])
    everything = client.get("/admin/audit").get_data(as_text=True)
    assert "POST /v1/jobs" in everything and "POST /login" in everything
    swap = {"HX-Request": "true", "HX-Target": "audit-table"}
    refused = client.get("/admin/audit?q=/v1/jobs&status=400", headers=swap)
    text = refused.get_data(as_text=True)
    assert "<html" not in text and text.count("data-seq=") == 1 and ">400<" in text
    assert 'data-testid="no-entries"' in client.get("/admin/audit?q=%25_nothing_like_this").get_data(as_text=True)
    verify = client.get("/admin/audit/verify").get_data(as_text=True)
    assert "The chain holds" in verify and "<html" not in verify


@pytest.mark.parametrize("query", ["status=abc", "status=99", "before=0", "before=x", "q=" + "x" * 201])
def test_audit_search_refuses_bad_filters(app: Flask, users: Users, query: str) -> None:
    client, _ = session_client(app, users["admin"])
    assert client.get(f"/admin/audit?{query}").status_code == 400


def test_the_chain_check_finds_an_edited_entry(app: Flask, db: Any, users: Users) -> None:
    client, _ = session_client(app, users["admin"])
    client.get("/admin/users")
    db.execute("UPDATE audit_log SET status = 299 WHERE seq = 1")  # tampering, as an intruder with the file would
    db.commit()
    verify = client.get("/admin/audit/verify").get_data(as_text=True)
    assert "broken at entry 1" in verify and "altered" in verify


def test_credits_and_signing_keys(app: Flask, users: Users, keys: dict[str, str], inline_jobs: Any) -> None:
    client, _ = session_client(app, users["admin"])
    assert 'data-testid="no-signing-keys"' in client.get("/admin/signing-keys").get_data(as_text=True)
    body = {"kind": "mock", "params": {"schema": mock_schema(2000)}}
    job_id = app.test_client().post("/v1/jobs", json=body, headers=auth(keys["generate"])).get_json()["id"]
    inline_jobs.finish(client, auth(keys["read"]), job_id)
    credits = client.get("/admin/credits").get_data(as_text=True)
    assert job_id in credits and ">mock<" in credits and 'data-testid="balance"' in credits
    signing = client.get("/admin/signing-keys").get_data(as_text=True)
    listed = client.get("/v1/keys/signing").get_json()
    key = (listed.get("keys") or listed.get("data"))[0]
    assert key["key_id"] in signing and signing.count('data-testid="fingerprint"') == 1
    assert client.get("/admin/credits?after=" + "x" * 65).status_code == 400
