"""Server-side sessions for the web UI: the browser's way to be a user, beside API keys and bearer
tokens.

A login (the same password check and throttle as ``POST /v1/auth/login``) makes a row holding the
hash of a random token; the token itself travels only in an HttpOnly cookie. Each request turns the
cookie back into a :class:`Principal` with the user's *current* scopes, so the request pipeline
checks a page exactly as it checks an API call. A session ends at logout, after ``[ui]
idle_timeout_s`` without a request the user made, at ``[ui] session_max_s`` after login, when the
user's password is changed, or when the user is disabled.

Each session has a CSRF token: a write authenticated by the cookie must echo it (form field or
header), which a page of another site cannot read. Background refreshes a page makes by itself
(marked by the caller) authenticate without counting as activity, so an open tab left alone still
reaches its idle timeout.
"""

from __future__ import annotations

import hmac
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from appliance import errors
from appliance.clock import now_iso
from appliance.errors import AppError
from appliance.ids import new_id
from appliance.services import tokens
from appliance.services.login_throttle import LoginThrottle
from appliance.services.principal import Principal, effective_scopes
from appliance.services.secrets import new_opaque_token, token_hash
from appliance.store import identity as identity_store
from appliance.store import ui_sessions as ui_sessions_store
from appliance.store.db import transaction

COOKIE = "sealforge_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
TOUCH_EVERY_S = 30.0
"""At most one write per session this often to move ``last_seen_at`` (less when the idle timeout is short)."""


@dataclass(frozen=True)
class Session:
    """A live session: who it is, what the pages must echo on writes, and when it ends."""

    id: str
    principal: Principal
    email: str
    csrf_token: str
    expires_at: float


def _settings(cfg: dict[str, Any]) -> tuple[float, float]:
    """``[ui]`` idle timeout and absolute lifetime, in seconds."""
    return float(cfg["idle_timeout_s"]), float(cfg["session_max_s"])


def login(
    conn: sqlite3.Connection,
    email: str,
    password: str,
    throttle: LoginThrottle,
    source: str,
    cfg: dict[str, Any],
    now: float | None = None,
) -> tuple[str, Session]:
    """A new session for a right email and password: the cookie's token (shown once) and the session.

    Wrong credentials, a disabled user and a throttled account or address fail exactly as the
    API's login does (``INVALID_CREDENTIALS``, ``LOGIN_THROTTLED``)."""
    user = tokens.password_login(conn, email, password, throttle, source)
    at = time.time() if now is None else now
    _, max_s = _settings(cfg)
    token = new_opaque_token()
    row = {
        "id": new_id("sk"),
        "user_id": user["id"],
        "token_hash": token_hash(token),
        "csrf_token": secrets.token_urlsafe(32),
        "created_at": at,
        "last_seen_at": at,
        "expires_at": at + max_s,
    }
    with transaction(conn):
        ui_sessions_store.delete_ended_sessions(conn, at)  # the table holds live sessions, not history
        ui_sessions_store.insert_session(conn, row)
    return token, _session(row, user)


def _session(row: dict[str, Any], user: dict[str, Any]) -> Session:
    granted = user["scopes"].split(",")
    scopes = effective_scopes(granted)
    who = Principal(user["tenant_id"], user["id"], "user", scopes, tuple(granted), token_id=row["id"])
    return Session(row["id"], who, user["email"], row["csrf_token"], float(row["expires_at"]))


def authenticate(
    conn: sqlite3.Connection, token: str, cfg: dict[str, Any], *, activity: bool = True, now: float | None = None
) -> Session:
    """The live session behind a cookie's token, else ``SESSION_EXPIRED``.

    ``activity``: the user did something (a page, a form); False for a page's own background
    refresh, which must not keep an abandoned tab logged in."""
    at = time.time() if now is None else now
    idle_s, _ = _settings(cfg)
    row = ui_sessions_store.get_session_by_hash(conn, token_hash(token))
    if row is None or row["revoked_at"]:
        raise AppError(errors.SESSION_EXPIRED, "no such session, or it was logged out")
    if at >= row["expires_at"]:
        raise AppError(errors.SESSION_EXPIRED, "the session reached its longest lifetime")
    if at - row["last_seen_at"] > idle_s:
        with transaction(conn):
            ui_sessions_store.revoke_session(conn, row["id"], now_iso())
        raise AppError(errors.SESSION_EXPIRED, f"the session was idle for more than {idle_s:g} s")
    user = identity_store.user_by_id(conn, row["user_id"])
    if user is None or user["disabled"]:
        raise AppError(errors.SESSION_EXPIRED, "the user behind this session is gone or disabled")
    if activity and at - row["last_seen_at"] >= min(TOUCH_EVERY_S, idle_s / 10):
        with transaction(conn):
            ui_sessions_store.touch_session(conn, row["id"], at)
    return _session(row, user)


def check_csrf(session: Session, sent: str | None) -> None:
    """A write made with the cookie must carry the session's CSRF token (compared in constant time)."""
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise AppError(errors.CSRF_TOKEN_INVALID)


def logout(conn: sqlite3.Connection, session_id: str) -> None:
    with transaction(conn):
        ui_sessions_store.revoke_session(conn, session_id, now_iso())
