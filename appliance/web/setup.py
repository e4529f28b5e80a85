"""``/setup``: the first admin of a tenant, made in the browser with the console's setup key.

A fresh appliance has no user, and the image has no shell for ``sealforge admin users create``:
this page takes the setup key the console shows (or any admin key of the tenant), an email and a
password, makes the tenant's first user with the tenant's admin scopes
(``appliance.services.identity_setup``) and logs them in. Once the tenant has a user the page
refuses (409 ``SETUP_DONE``); a wrong or revoked key is refused (403 ``SETUP_KEY_INVALID``) and
counted by the login throttle. Like the login form it comes before any session, so it carries a
double-submit CSRF token (a SameSite=Strict cookie on ``/setup`` echoed in a hidden field).
The pipeline audits every POST here: a refusal without a caller, a success as the new user.
"""

from __future__ import annotations

import secrets

from flask import Response, g, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from appliance.api import context
from appliance.api.extensions import accepts_body, requires
from appliance.errors import AppError
from appliance.services import identity_setup, ui_sessions
from appliance.services.identity import PASSWORD_MIN_CHARS
from appliance.services.login_throttle import LoginThrottle
from appliance.web.blueprint import blp, check_pre_session_csrf, page, pre_session_form, session_cookie_options

SETUP_CSRF_COOKIE = "sealforge_setup_csrf"
SETUP_CSRF_MAX_AGE_S = 3600
FORM_PROBLEMS = frozenset({"SETUP_KEY_INVALID", "LOGIN_THROTTLED", "VALIDATION_FAILED", "CONFLICT"})
"""Refusals shown on the form itself (by code), so the engineer corrects the field at fault and sends again."""


def _form(status: int = 200, message: str = "", email: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    body = page("setup.html", setup_csrf=token, message=message, email=email, min_chars=PASSWORD_MIN_CHARS)
    return pre_session_form(body, status, SETUP_CSRF_COOKIE, token, "/setup", SETUP_CSRF_MAX_AGE_S)


def _done(message: str) -> Response:
    return Response(page("setup.html", done=True, message=message), status=409)


@blp.route("/setup")
@requires(None)
def setup() -> Response:
    """The setup form while some tenant has no user yet; afterwards a page that sends to the login."""
    if not identity_setup.open_tenants(context.get_db()):
        return _done("Every tenant on this appliance has a user already.")
    return _form()


@blp.route("/setup", methods=["POST"])
@requires(None)
@accepts_body("form")
def setup_submit() -> BaseResponse:
    """Check the key (throttled), make the first admin and start their session."""
    check_pre_session_csrf(SETUP_CSRF_COOKIE, "the setup form has expired; reload the page and try again")
    setup_key = request.form.get("setup_key", "").strip()
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    if not setup_key or not email or not password:
        return _form(400, "Enter the setup key, an email and a password.", email)
    if password != request.form.get("password_again", ""):
        return _form(400, "The two passwords differ.", email)
    cfg = context.config()
    conn = context.get_db()
    throttle = LoginThrottle(context.state_dir(), cfg["auth"])
    source = request.remote_addr or ""
    try:
        user = identity_setup.first_admin(conn, setup_key, email, password, throttle, source)
    except AppError as exc:
        if exc.spec.code == "SETUP_DONE":
            return _done("This key's tenant has a user already.")
        if exc.spec.code not in FORM_PROBLEMS:
            raise
        response = _form(exc.status, exc.message, email)
        for name, value in exc.headers.items():
            response.headers[name] = value
        return response
    token, session = ui_sessions.login(conn, user["email"], password, throttle, source, cfg["ui"])
    g.principal = session.principal  # the audit entry of this setup names the admin it made
    landing = redirect(url_for("ui.overview"), code=303)
    landing.set_cookie(ui_sessions.COOKIE, token, **session_cookie_options())
    landing.delete_cookie(SETUP_CSRF_COOKIE, path="/setup")
    return landing
