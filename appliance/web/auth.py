"""Log in and log out of the web UI.

The login form posts to the same password check and throttle as ``POST /v1/auth/login``
(``appliance.services.ui_sessions.login``). Before a session exists there is no session CSRF
token, so the form carries a double-submit token instead: a random value set as a SameSite=Strict
cookie with the form and echoed in a hidden field, which another site can neither read nor set.
"""

from __future__ import annotations

import secrets

from flask import Response, g, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from appliance import errors
from appliance.api import context
from appliance.api.extensions import accepts_body, requires
from appliance.errors import AppError
from appliance.services import identity_setup, ui_sessions
from appliance.services.login_throttle import LoginThrottle
from appliance.web.blueprint import (
    LOGIN_CSRF_COOKIE,
    blp,
    check_pre_session_csrf,
    page,
    pre_session_form,
    safe_next,
    session_cookie_options,
)

LOGIN_CSRF_MAX_AGE_S = 3600


def _login_form(status: int = 200, message: str = "", email: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    body = page(
        "login.html",
        login_csrf=token,
        message=message,
        email=email,
        next=safe_next(request.values.get("next")),
        setup_open=bool(identity_setup.open_tenants(context.get_db())),
    )
    return pre_session_form(body, status, LOGIN_CSRF_COOKIE, token, "/login", LOGIN_CSRF_MAX_AGE_S)


@blp.route("/login")
@requires(None)
def login() -> Response:
    """The login form."""
    return _login_form()


@blp.route("/login", methods=["POST"])
@requires(None)
@accepts_body("form")
def login_submit() -> BaseResponse:
    """Check the password (throttled like the API's login) and start a session."""
    check_pre_session_csrf(LOGIN_CSRF_COOKIE, "the login form has expired; it was reloaded, try again")
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    if not email or not password:
        return _login_form(400, "Enter your email and password.", email)
    cfg = context.config()
    throttle = LoginThrottle(context.state_dir(), cfg["auth"])
    try:
        token, session = ui_sessions.login(
            context.get_db(), email, password, throttle, request.remote_addr or "", cfg["ui"]
        )
    except AppError as exc:
        if exc.spec in (errors.INVALID_CREDENTIALS, errors.LOGIN_THROTTLED):
            response = _login_form(exc.status, exc.message, email)
            for name, value in exc.headers.items():
                response.headers[name] = value
            return response
        raise
    g.principal = session.principal  # the audit entry of this login names who logged in
    landing = redirect(safe_next(request.form.get("next")), code=303)
    landing.set_cookie(ui_sessions.COOKIE, token, **session_cookie_options())
    landing.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return landing


@blp.route("/logout", methods=["POST"])
@requires("read")
@accepts_body("form")
def logout() -> BaseResponse:
    """End the session (its CSRF token was checked by the pipeline, so no other site can log you out)."""
    session = g.get("ui_session")
    if session is not None:
        ui_sessions.logout(context.get_db(), session.id)
    response = redirect(url_for("ui.login"), code=303)
    response.delete_cookie(ui_sessions.COOKIE, path="/")
    return response
