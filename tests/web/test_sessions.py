"""The web UI's sessions through the Flask test client: login (and its throttle, shared with the
API), the cookie's flags, CSRF on every write, scopes enforced on crafted requests, logout, the
idle timeout, and bad input answered with a page, never a crash."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance.errors import AppError
from appliance.services import identity, ui_sessions
from appliance.services.login_throttle import LoginThrottle
from tests.conftest import auth, mock_schema
from tests.web.conftest import PASSWORD, Users, form_token, log_in, session_client

UI = {"idle_timeout_s": 900, "session_max_s": 43200}


def _submit(client: FlaskClient, key: str, rows: int = 200) -> str:
    answer = client.post("/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(rows)}}, headers=auth(key))
    assert answer.status_code == 202, answer.get_json()
    return str(answer.get_json()["id"])


def test_pages_send_a_browser_to_login_and_a_script_gets_401(client: FlaskClient) -> None:
    page = client.get("/jobs?status=queued", headers={"Accept": "text/html"})
    assert page.status_code == 302 and page.headers["Location"] == "/login?next=/jobs?status%3Dqueued"
    assert client.get("/jobs").status_code == 401
    htmx = client.get("/overview/live", headers={"HX-Request": "true", "HX-Current-URL": "http://x/jobs?kind=mock"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/login?next=/jobs?kind%3Dmock"


def test_login_sets_a_strict_httponly_cookie_and_lands_on_next(app: Flask, users: Users) -> None:
    client = app.test_client()
    token = form_token(client.get("/login?next=/jobs").get_data(as_text=True))
    answer = client.post(
        "/login", data={"email": users["read"], "password": PASSWORD, "csrf_token": token, "next": "/jobs"}
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/jobs"
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith(ui_sessions.COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback: a Secure cookie would never come back
    page = client.get("/jobs").get_data(as_text=True)
    assert users["read"] in page


def test_under_https_the_cookie_is_secure(app: Flask, users: Users) -> None:
    client = app.test_client()
    page = client.get("/login", base_url="https://appliance.local")
    token = form_token(page.get_data(as_text=True))
    answer = client.post(
        "/login",
        data={"email": users["read"], "password": PASSWORD, "csrf_token": token},
        base_url="https://appliance.local",
    )
    assert answer.status_code == 303
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith(ui_sessions.COOKIE + "="))
    assert "Secure" in cookie


@pytest.mark.parametrize("target", ["https://evil.example/x", "//evil.example/x", "javascript:alert(1)", "jobs"])
def test_next_never_leaves_the_appliance(app: Flask, users: Users, target: str) -> None:
    client = app.test_client()
    token = form_token(client.get("/login").get_data(as_text=True))
    answer = client.post(
        "/login", data={"email": users["read"], "password": PASSWORD, "csrf_token": token, "next": target}
    )
    assert answer.headers["Location"] == "/"


def test_bad_login_shows_the_form_again_and_sets_no_session(app: Flask, users: Users) -> None:
    client = app.test_client()
    wrong = log_in(client, users["read"], "not the password at all")
    assert wrong.status_code == 401
    assert "The email or password is wrong." in wrong.get_data(as_text=True)
    assert not any(c.startswith(ui_sessions.COOKIE + "=") for c in wrong.headers.getlist("Set-Cookie"))
    token = form_token(wrong.get_data(as_text=True))
    empty = client.post("/login", data={"email": "", "password": "", "csrf_token": token})
    assert empty.status_code == 400


def test_login_without_its_form_token_is_refused(app: Flask, users: Users) -> None:
    client = app.test_client()
    client.get("/login")
    answer = client.post("/login", data={"email": users["read"], "password": PASSWORD, "csrf_token": "forged"})
    assert answer.status_code == 403 and 'data-code="CSRF_TOKEN_INVALID"' in answer.get_data(as_text=True)
    bare = app.test_client().post("/login", data={"email": users["read"], "password": PASSWORD})
    assert bare.status_code == 403


@pytest.mark.parametrize(
    "app_config", [{"auth": {"login_free_attempts": 2, "login_backoff_base_s": 60.0}}], indirect=True
)
def test_login_throttle_is_the_apis(app: Flask, users: Users) -> None:
    client = app.test_client()
    for _ in range(2):  # failures at the API's door count at the UI's
        wrong = client.post("/v1/auth/login", json={"email": users["read"], "password": "wrong password"})
        assert wrong.status_code == 401
    throttled = log_in(client, users["read"])  # even the right password waits
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert "try again in" in throttled.get_data(as_text=True)


def test_form_writes_need_the_session_csrf_token(
    app: Flask, users: Users, keys: dict[str, str]
) -> None:
    client, csrf = session_client(app, users["generate"])
    job_id = _submit(client, keys["generate"])
    missing = client.post(f"/jobs/{job_id}/cancel", data={})
    assert missing.status_code == 403 and 'data-code="CSRF_TOKEN_INVALID"' in missing.get_data(as_text=True)
    wrong = client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": csrf[:-2] + "xx"})
    assert wrong.status_code == 403
    assert client.get(f"/v1/jobs/{job_id}", headers=auth(keys["read"])).get_json()["status"] == "queued"
    done = client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": csrf})
    assert done.status_code == 303
    assert client.get(f"/v1/jobs/{job_id}", headers=auth(keys["read"])).get_json()["status"] == "canceled"


def test_the_api_takes_the_cookie_with_the_csrf_header_only(
    app: Flask, users: Users, keys: dict[str, str]
) -> None:
    client, csrf = session_client(app, users["generate"])
    body = {"kind": "mock", "params": {"schema": mock_schema(10)}}
    refused = client.post("/v1/jobs", json=body)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "CSRF_TOKEN_INVALID"
    accepted = client.post("/v1/jobs", json=body, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 202
    assert client.get("/v1/auth/whoami").get_json()["caller"].startswith("usr_")  # reads need no token


def test_a_crafted_write_without_the_scope_is_refused(app: Flask, users: Users, keys: dict[str, str]) -> None:
    client, csrf = session_client(app, users["read"])
    job_id = _submit(client, keys["generate"])
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'data-testid="cancel"' not in page  # no control shown...
    forced = client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": csrf})  # ...and none forced
    assert forced.status_code == 403 and 'data-code="INSUFFICIENT_SCOPE"' in forced.get_data(as_text=True)
    api = client.post(f"/v1/jobs/{job_id}/cancel", headers={"X-CSRF-Token": csrf})
    assert api.status_code == 403 and api.get_json()["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert client.get(f"/v1/jobs/{job_id}", headers=auth(keys["read"])).get_json()["status"] == "queued"
    assert client.get("/admin/keys").status_code == 403
    assert client.post("/admin/keys", data={"csrf_token": csrf, "scopes": "admin"}).status_code == 403
    assert "API keys" not in client.get("/").get_data(as_text=True)


def test_admin_pages_make_and_revoke_keys(app: Flask, users: Users, tenant: dict[str, Any], db: Any) -> None:
    client, csrf = session_client(app, users["admin"])
    made = client.post("/admin/keys", data={"csrf_token": csrf, "name": "rig 3", "scopes": ["read", "generate"]})
    assert made.status_code == 201
    secret = made.get_data(as_text=True).split('data-testid="created-secret">')[1].split("<")[0]
    assert client.get("/v1/auth/whoami", headers=auth(secret)).get_json()["scopes"] == ["read", "generate"]
    key_id = next(k["id"] for k in identity.list_keys(db, tenant["id"]) if k["name"] == "rig 3")
    assert client.post(f"/admin/keys/{key_id}/revoke", data={"csrf_token": csrf}).status_code == 200
    assert client.get("/v1/auth/whoami", headers=auth(secret)).status_code == 401
    operator = client.post("/admin/keys", data={"csrf_token": csrf, "scopes": "operator"})
    assert operator.status_code == 400 and "operator" in operator.get_data(as_text=True)
    none = client.post("/admin/keys", data={"csrf_token": csrf, "name": "x"})
    assert none.status_code == 400 and 'data-testid="key-error"' in none.get_data(as_text=True)
    assert client.post("/admin/keys/key_unknown/revoke", data={"csrf_token": csrf}).status_code == 404


def test_logout_ends_the_session_on_the_server(app: Flask, users: Users) -> None:
    client, csrf = session_client(app, users["read"])
    cookie = client.get_cookie(ui_sessions.COOKIE)
    assert cookie is not None
    assert client.post("/logout", data={}).status_code == 403  # another site cannot log you out
    out = client.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303 and out.headers["Location"] == "/login"
    replay = app.test_client()
    replay.set_cookie(ui_sessions.COOKIE, cookie.value)  # the old cookie, kept by an attacker
    api = replay.get("/v1/auth/whoami")
    assert api.status_code == 401 and api.get_json()["error"]["code"] == "SESSION_EXPIRED"
    page = replay.get("/")
    assert page.status_code == 401
    assert any(c.startswith(ui_sessions.COOKIE + "=;") for c in page.headers.getlist("Set-Cookie"))  # dropped


def test_idle_timeout_and_lifetime(db: Any, users: Users, state_dir: Any) -> None:
    throttle = LoginThrottle(state_dir, {})
    cfg = {**UI, "idle_timeout_s": 60, "session_max_s": 1000}
    token, session = ui_sessions.login(db, users["read"], PASSWORD, throttle, "10.0.0.1", cfg, now=1000.0)
    assert ui_sessions.authenticate(db, token, cfg, now=1050.0).id == session.id
    # a background refresh at 1100 does not count as activity: idle since 1050, so 1111 is too late
    assert ui_sessions.authenticate(db, token, cfg, activity=False, now=1100.0).id == session.id
    with pytest.raises(AppError) as idle:
        ui_sessions.authenticate(db, token, cfg, now=1111.0)
    assert idle.value.code == "SESSION_EXPIRED" and "idle" in idle.value.message
    with pytest.raises(AppError):  # and it stays ended
        ui_sessions.authenticate(db, token, cfg, now=1050.0)
    token, _ = ui_sessions.login(db, users["read"], PASSWORD, throttle, "10.0.0.1", cfg, now=1000.0)
    for at in range(1050, 2000, 50):  # active all along
        ui_sessions.authenticate(db, token, cfg, now=float(at))
    with pytest.raises(AppError) as old:
        ui_sessions.authenticate(db, token, cfg, now=2000.0)
    assert "lifetime" in old.value.message


def test_a_new_password_or_a_disabled_user_ends_the_sessions(app: Flask, users: Users, db: Any) -> None:
    client, _ = session_client(app, users["read"])
    assert client.get("/").status_code == 200
    assert identity.set_password(db, users["read"], "another long password")["sessions_ended"] >= 1
    assert client.get("/").status_code == 401


def test_the_job_event_stream_takes_the_session_cookie(
    app: Flask, users: Users, keys: dict[str, str], inline_jobs: Any
) -> None:
    client, _ = session_client(app, users["read"])
    job_id = _submit(client, keys["generate"])
    inline_jobs.finish(client, auth(keys["read"]), job_id)
    stream = client.get(f"/v1/jobs/{job_id}/events")
    assert stream.status_code == 200 and stream.mimetype == "text/event-stream"
    text = stream.get_data(as_text=True)
    assert "event: status" in text and '"status":"succeeded"' in text and "event: end" in text
    outsider = app.test_client().get(f"/v1/jobs/{job_id}/events")
    assert outsider.status_code == 401


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/jobs?status=finished", 400),
        ("/jobs?kind=teleport", 400),
        ("/jobs?after=" + "x" * 65, 400),
        ("/jobs/job_01JD0000000000000000000000", 404),
        ("/evidence/job_01JD0000000000000000000000", 404),
        ("/evidence?after=" + "x" * 65, 400),
        ("/jobs/job_01JD0000000000000000000000/panel", 404),
    ],
)
def test_bad_input_is_a_page_with_the_error_code(app: Flask, users: Users, path: str, status: int) -> None:
    client, _ = session_client(app, users["read"])
    answer = client.get(path)
    assert answer.status_code == status
    assert answer.mimetype == "text/html" and 'data-testid="error"' in answer.get_data(as_text=True)


def test_a_form_page_takes_only_a_form(app: Flask, users: Users, keys: dict[str, str]) -> None:
    client, csrf = session_client(app, users["generate"])
    job_id = _submit(client, keys["generate"])
    as_json = client.post(f"/jobs/{job_id}/cancel", json={"csrf_token": csrf}, headers={"X-CSRF-Token": csrf})
    assert as_json.status_code == 415
    finished = client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": csrf})
    assert finished.status_code == 303
    again = client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": csrf}, headers={"HX-Request": "true"})
    assert again.status_code == 409 and 'data-code="CONFLICT"' in again.get_data(as_text=True)
    assert "<html" not in again.get_data(as_text=True)  # htmx gets the fragment to show in place


def test_pages_forbid_inline_scripts_and_framing(app: Flask, users: Users) -> None:
    client, _ = session_client(app, users["read"])
    page = client.get("/")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    asset = client.get("/ui/static/vendor/htmx-2.0.11.min.js")
    assert asset.status_code == 200 and asset.mimetype in ("text/javascript", "application/javascript")
    asset.close()


def test_page_writes_and_refusals_are_audited_with_their_caller(
    app: Flask, users: Users, keys: dict[str, str], db: Any, tenant: dict[str, Any]
) -> None:
    from appliance.services import audit
    from appliance.store import audit as audit_store

    client, csrf = session_client(app, users["read"])
    job_id = _submit(client, keys["generate"])
    client.post(f"/jobs/{job_id}/cancel", data={})  # no token
    client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": csrf})  # no scope
    entries = [e for e in audit_store.iter_entries(db) if e["path"] in ("/login", f"/jobs/{job_id}/cancel")]
    user_id = client.get("/v1/auth/whoami").get_json()["caller"]
    assert [(e["path"], e["status"], e["caller"]) for e in entries] == [
        ("/login", 303, user_id),
        (f"/jobs/{job_id}/cancel", 403, user_id),
        (f"/jobs/{job_id}/cancel", 403, user_id),
    ]
    assert all(e["tenant_id"] == tenant["id"] for e in entries)
    assert audit.verify_chain(db).ok

