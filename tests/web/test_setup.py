"""The web UI's `/setup` page through the Flask test client: a fresh tenant's first admin made with
the console's setup key and logged in; refused once the tenant has a user, with a wrong, revoked
or weak key, without the form's CSRF token, and while the throttle holds; bad input answered on
the form; every POST audited."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance.errors import AppError
from appliance.services import identity, identity_setup
from appliance.services.login_throttle import LoginThrottle
from tests.web.conftest import PASSWORD, form_token, log_in

SETUP_COOKIE = "sealforge_setup_csrf"


@pytest.fixture
def setup_key(db: Any, tenant: dict[str, Any]) -> str:
    """A key like the console's: `operator`, made as the console makes it (the CLI's grant)."""
    key = identity.create_key(db, tenant["id"], ["operator"], name="console setup key", allow_operator=True)
    return str(key["api_key"])


def _send(client: FlaskClient, key: str, email: str = "first@plant.example", **extra: str) -> Any:
    token = form_token(client.get("/setup").get_data(as_text=True))
    form = {"csrf_token": token, "setup_key": key, "email": email, "password": PASSWORD, "password_again": PASSWORD}
    return client.post("/setup", data={**form, **extra})


def _audit(db: Any, path: str) -> list[dict[str, Any]]:
    rows = db.execute("SELECT * FROM audit_log WHERE path = ? AND method = 'POST' ORDER BY seq", (path,))
    return [dict(r) for r in rows.fetchall()]


def test_the_setup_key_makes_the_first_admin_and_logs_them_in(
    app: Flask, db: Any, tenant: dict[str, Any], setup_key: str
) -> None:
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    assert 'data-testid="setup-link"' in login_page and 'href="/setup"' in login_page
    form = client.get("/setup")
    cookie = next(c for c in form.headers.getlist("Set-Cookie") if c.startswith(SETUP_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/setup" in cookie
    made = _send(client, setup_key, email="First@Plant.example")
    assert made.status_code == 303 and made.headers["Location"] == "/"
    overview = client.get("/").get_data(as_text=True)  # logged in, with the admin's menu
    assert "first@plant.example" in overview and 'href="/admin/keys"' in overview
    (user,) = identity.list_users(db, tenant["id"])
    assert user["email"] == "first@plant.example" and user["scopes"] == ["admin"]  # never `operator`
    assert log_in(app.test_client(), "first@plant.example").status_code == 303
    (entry,) = _audit(db, "/setup")
    assert entry["status"] == 303 and entry["caller"] == user["id"] and entry["tenant_id"] == tenant["id"]
    assert PASSWORD not in str(entry) and setup_key not in str(entry)
    assert 'data-testid="setup-link"' not in app.test_client().get("/login").get_data(as_text=True)
    done = app.test_client().get("/setup")
    assert done.status_code == 409 and 'data-testid="setup-done"' in done.get_data(as_text=True)


def test_an_admin_key_works_too_and_the_page_refuses_once_the_tenant_has_a_user(
    app: Flask, db: Any, tenant: dict[str, Any], keys: dict[str, str]
) -> None:
    assert _send(app.test_client(), keys["admin"]).status_code == 303
    other = identity.create_tenant(db, "second-plant")
    late = app.test_client()
    token = form_token(late.get("/setup").get_data(as_text=True))  # `second-plant` has no user: the form shows
    form = {"csrf_token": token, "setup_key": keys["admin"], "email": "late@plant.example",
            "password": PASSWORD, "password_again": PASSWORD}
    again = late.post("/setup", data=form)
    assert again.status_code == 409 and "has a user already" in again.get_data(as_text=True)
    assert [u["email"] for u in identity.list_users(db, tenant["id"])] == ["first@plant.example"]
    assert identity.list_users(db, other["id"]) == []
    assert _audit(db, "/setup")[-1]["status"] == 409


@pytest.mark.parametrize("which", ["unknown", "revoked", "read", "generate"])
def test_a_wrong_revoked_or_weak_key_is_refused(
    app: Flask, db: Any, tenant: dict[str, Any], keys: dict[str, str], which: str
) -> None:
    key = {"unknown": "sl_live_" + "x" * 43, "read": keys["read"], "generate": keys["generate"]}.get(which, "")
    if which == "revoked":
        made = identity.create_key(db, tenant["id"], ["operator"], allow_operator=True)
        identity.revoke_key(db, tenant["id"], made["id"])
        key = made["api_key"]
    answer = _send(app.test_client(), key)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 403 and 'data-testid="setup-error"' in text
    assert ("lacks the `admin` scope" in text) == (which in ("read", "generate"))
    assert identity.list_users(db, tenant["id"]) == []
    (entry,) = _audit(db, "/setup")
    assert entry["status"] == 403 and entry["caller"] is None


@pytest.mark.parametrize(
    "app_config",
    [{"auth": {"login_free_attempts": 2, "login_source_free_attempts": 50, "login_backoff_base_s": 60.0}}],
    indirect=True,
)
def test_wrong_keys_are_throttled_like_logins(
    app: Flask, db: Any, state_dir: Any, tenant: dict[str, Any], setup_key: str
) -> None:
    client = app.test_client()
    for _ in range(2):
        assert _send(client, "sl_live_wrong").status_code == 403
    throttled = _send(client, setup_key)  # even the right key waits
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert "try again in" in throttled.get_data(as_text=True)
    assert identity.list_users(db, tenant["id"]) == []
    LoginThrottle(state_dir, {}).unblock("/setup")  # what `sealforge admin logins unblock --email /setup` does
    assert _send(client, setup_key).status_code == 303


def test_the_form_needs_its_csrf_token(app: Flask, db: Any, tenant: dict[str, Any], setup_key: str) -> None:
    client = app.test_client()
    client.get("/setup")
    form = {"setup_key": setup_key, "email": "a@plant.example", "password": PASSWORD, "password_again": PASSWORD}
    missing = client.post("/setup", data=form)
    assert missing.status_code == 403 and 'data-code="CSRF_TOKEN_INVALID"' in missing.get_data(as_text=True)
    assert client.post("/setup", data={**form, "csrf_token": "forged"}).status_code == 403
    bare = app.test_client().post("/setup", data={**form, "csrf_token": "forged"})  # no cookie at all
    assert bare.status_code == 403
    assert identity.list_users(db, tenant["id"]) == []


@pytest.mark.parametrize(
    ("extra", "status", "shown"),
    [
        ({"setup_key": ""}, 400, "Enter the setup key"),
        ({"email": ""}, 400, "Enter the setup key, an email"),
        ({"password": "", "password_again": ""}, 400, "and a password"),
        ({"password_again": "another long password"}, 400, "The two passwords differ"),
        ({"password": "short", "password_again": "short"}, 400, "at least 12 characters"),
        ({"password": "p" * 1025, "password_again": "p" * 1025}, 400, "at most 1024 characters"),
        ({"email": "not-an-email"}, 400, "not an email address"),
        ({"email": "taken@plant.example"}, 409, "exists already"),
    ],
)
def test_bad_input_is_shown_on_the_form(
    app: Flask, db: Any, tenant: dict[str, Any], setup_key: str, extra: dict[str, str], status: int, shown: str
) -> None:
    other = identity.create_tenant(db, "elsewhere")
    identity.create_user(db, other["id"], "taken@plant.example", PASSWORD, ["read"])
    answer = _send(app.test_client(), setup_key, **extra)
    text = answer.get_data(as_text=True)
    assert answer.status_code == status and shown in text and 'data-testid="setup-error"' in text
    assert PASSWORD not in text and setup_key not in text  # neither secret is echoed back
    assert identity.list_users(db, tenant["id"]) == []
    assert re.search(r'name="csrf_token" value="[^"]+"', text)  # a fresh form to send again


def test_a_json_body_is_refused(app: Flask, setup_key: str) -> None:
    client = app.test_client()
    client.get("/setup")
    answer = client.post("/setup", json={"setup_key": setup_key})
    assert answer.status_code == 415


def test_without_any_open_tenant_the_page_says_so(app: Flask, db: Any) -> None:
    answer = app.test_client().get("/setup")
    assert answer.status_code == 409 and 'href="/login"' in answer.get_data(as_text=True)


def test_only_one_first_admin_even_past_the_pages_check(
    db: Any, state_dir: Any, tenant: dict[str, Any], setup_key: str
) -> None:
    """Two forms sent at once both pass the page's early check; the insert's transaction stops the second."""
    throttle = LoginThrottle(state_dir, {})
    identity_setup.first_admin(db, setup_key, "one@plant.example", PASSWORD, throttle, "10.0.0.9")
    with pytest.raises(AppError) as refused:
        identity.create_user(db, tenant["id"], "two@plant.example", PASSWORD, ["admin"], first_of_tenant=True)
    assert refused.value.spec.code == "SETUP_DONE"
    assert [u["email"] for u in identity.list_users(db, tenant["id"])] == ["one@plant.example"]

