"""The web UI's blueprint and what every page shares: who is logged in, what they may do, the
CSRF token, the security headers, and errors shown as pages instead of JSON.

Authentication and scopes are not checked here: the request pipeline (``appliance.api.pipeline``)
does that for every request, pages included. A page declares its scope with ``requires`` exactly
like an API route, the session cookie is one more credential beside API keys and bearer tokens,
and a write made with the cookie must carry the session's CSRF token. So a control hidden from a
user is also refused to a crafted request, by the same check the API applies.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from appliance import errors
from appliance.api import context, envelope
from appliance.errors import AppError
from appliance.scrub import scrub
from appliance.services import ui_sessions
from appliance.services.principal import SCOPES, Principal

blp = Blueprint(
    "ui", __name__, template_folder="templates", static_folder="static", static_url_path="/ui/static"
)

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""Pages load only the appliance's own files: no inline script or style, nothing from elsewhere."""

LOGIN_CSRF_COOKIE = "sealforge_login_csrf"


def principal() -> Principal | None:
    who: Principal | None = g.get("principal")
    return who


def can(scope: str) -> bool:
    """Whether the caller holds ``scope``: the one question a template asks before showing a control."""
    who = principal()
    return who is not None and who.has(scope)


def csrf_token() -> str:
    session = g.get("ui_session")
    return session.csrf_token if session is not None else ""


def secure_cookies() -> bool:
    """Cookies are marked Secure when the page came over HTTPS (off loopback the appliance serves
    only HTTPS); on plain HTTP at 127.0.0.1 a Secure cookie would never come back."""
    return request.scheme == "https"


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this appliance only, never another site."""
    if not target:
        return url_for("ui.overview")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("ui.overview")
    return target


def page(template: str, **values: Any) -> str:
    return render_template(template, **values)


@blp.app_template_global("can")
def _can(scope: str) -> bool:
    return can(scope)


@blp.app_template_global("csrf_token")
def _csrf_token() -> str:
    return csrf_token()


@blp.app_template_global("current_user")
def _current_user() -> dict[str, Any] | None:
    session = g.get("ui_session")
    who = principal()
    if who is None:
        return None
    return {
        "email": session.email if session is not None else who.caller,
        "scopes": [s for s in SCOPES if s in who.scopes],
        "tenant_id": who.tenant_id,
    }


@blp.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "ui.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def _wants_page() -> bool:
    """A browser navigating (not htmx, not a script) is sent to the login page on a 401."""
    return request.method == "GET" and "text/html" in request.headers.get("Accept", "") and not request.headers.get(
        "HX-Request"
    )


def _login_redirect() -> BaseResponse:
    response: BaseResponse
    target = url_for("ui.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
    if request.headers.get("HX-Request"):  # back to the page the fragment was for, not the fragment
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        target = url_for("ui.login", next=safe_next(current.path + (f"?{current.query}" if current.query else "")))
        response = Response(status=401)
        response.headers["HX-Redirect"] = target
    elif _wants_page():
        response = redirect(target)
    else:
        response = Response(
            render_template("error.html", status=401, code=errors.UNAUTHENTICATED.code, message="Log in first."),
            status=401,
        )
    if request.cookies.get(ui_sessions.COOKIE):
        response.delete_cookie(ui_sessions.COOKIE, path="/")
    return response


@blp.errorhandler(AppError)
def _app_error(exc: AppError) -> BaseResponse:
    if exc.status == 401:
        return _login_redirect()
    body = render_template(
        "error_fragment.html" if request.headers.get("HX-Request") else "error.html",
        status=exc.status,
        code=exc.spec.code,
        message=scrub(exc.message) or exc.spec.meaning,
        hint=scrub(exc.hint) or exc.spec.hint,
        correlation_id=g.get("correlation_id", "-"),
    )
    response = Response(body, status=exc.status)
    for name, value in exc.headers.items():
        response.headers[name] = value
    return response


@blp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> BaseResponse:
    return _app_error(envelope.from_http_exception(exc))


@blp.errorhandler(Exception)
def _unexpected(exc: Exception) -> BaseResponse:
    """A bug: logged with the correlation id as the API logs its own, shown without any detail."""
    envelope.log.exception("unhandled error in a page (correlation id %s)", g.get("correlation_id", "-"))
    return _app_error(AppError(errors.INTERNAL))


def session_cookie_options() -> dict[str, Any]:
    cfg = context.config()["ui"]
    return {
        "max_age": int(float(cfg["session_max_s"])),
        "httponly": True,
        "samesite": "Strict",
        "secure": secure_cookies(),
        "path": "/",
    }


def pre_session_form(body: str, status: int, cookie: str, token: str, path: str, max_age_s: int) -> Response:
    """A form sent before any session exists (log in, first-admin setup) with its double-submit
    CSRF cookie: the token is in the form and in a Strict cookie scoped to the form's own path."""
    response = Response(body, status=status)
    response.set_cookie(
        cookie, token, max_age=max_age_s, httponly=True, samesite="Strict", secure=secure_cookies(), path=path
    )
    return response


def check_pre_session_csrf(cookie: str, expired: str) -> None:
    """Refuse a pre-session form whose token does not match its cookie (``expired`` says what to do)."""
    sent = request.form.get("csrf_token", "")
    expected = request.cookies.get(cookie, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise AppError(errors.CSRF_TOKEN_INVALID, expired)
