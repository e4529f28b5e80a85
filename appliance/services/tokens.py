"""Bearer tokens for people: short-lived JWT access tokens and rotating opaque refresh tokens.

Access tokens are HS256 JWTs signed with a per-appliance secret in ``keys/jwt.secret``; each has a
``jti`` so logout can revoke it before it expires. Refresh tokens are random, stored hashed, and
replaced on every use so a stolen one works at most once.
"""

from __future__ import annotations

import math
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any

import jwt

from appliance import errors
from appliance.clock import now_iso
from appliance.errors import AppError
from appliance.ids import new_id
from appliance.services.login_throttle import LoginThrottle
from appliance.services.principal import Principal, effective_scopes
from appliance.services.secrets import (
    DUMMY_PASSWORD_HASH,
    check_password,
    new_opaque_token,
    state_secret,
    token_hash,
)
from appliance.store import identity as identity_store
from appliance.store.db import transaction

JWT_SECRET_FILE = "jwt.secret"
_ALGORITHM = "HS256"


def jwt_secret(keys_dir: Path) -> bytes:
    """The signing secret, created on first use with mode 0600."""
    return state_secret(keys_dir, JWT_SECRET_FILE)


def _issue(conn: sqlite3.Connection, user: dict[str, Any], keys_dir: Path, cfg: dict[str, Any]) -> dict[str, Any]:
    now = time.time()
    access_ttl = int(cfg["access_ttl_s"])
    claims = {
        "sub": user["id"],
        "ten": user["tenant_id"],
        "scp": user["scopes"],
        "iss": cfg["issuer"],
        "iat": int(now),
        "exp": int(now) + access_ttl,
        "jti": secrets.token_hex(12),
    }
    access = jwt.encode(claims, jwt_secret(keys_dir), algorithm=_ALGORITHM)
    refresh = new_opaque_token()
    identity_store.insert_refresh_token(
        conn,
        {
            "id": new_id("sk"),
            "user_id": user["id"],
            "token_hash": token_hash(refresh),
            "expires_at": now + int(cfg["refresh_ttl_s"]),
        },
    )
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": access_ttl,
        "refresh_token": refresh,
        "scopes": user["scopes"].split(","),
        "tenant_id": user["tenant_id"],
    }


def verify_user_password(conn: sqlite3.Connection, email: str, password: str) -> dict[str, Any] | None:
    """The enabled user with this email and password, else None, at the same cost either way.

    An unknown email is checked against a dummy hash and a disabled user against their own, so
    every answer costs one scrypt run and its timing tells nothing about which accounts exist.
    """
    user = identity_store.user_by_email(conn, email.strip().lower())
    matched = check_password(password, user["password_hash"] if user else DUMMY_PASSWORD_HASH)
    return user if user is not None and matched and not user["disabled"] else None


def login(
    conn: sqlite3.Connection,
    email: str,
    password: str,
    keys_dir: Path,
    cfg: dict[str, Any],
    throttle: LoginThrottle,
    source: str,
) -> dict[str, Any]:
    """Tokens for a right email and password; the throttle is asked before any hashing is done."""
    user = password_login(conn, email, password, throttle, source)
    with transaction(conn):
        return _issue(conn, user, keys_dir, cfg)


def password_login(
    conn: sqlite3.Connection, email: str, password: str, throttle: LoginThrottle, source: str
) -> dict[str, Any]:
    """The user behind a right email and password, under the one login throttle: every password
    door (the API's tokens, the web UI's sessions) counts failures in the same place."""
    wait = throttle.retry_after(email, source)
    if wait > 0:
        raise AppError(
            errors.LOGIN_THROTTLED,
            f"too many failed logins for this account or from this address; try again in {math.ceil(wait)} s",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    user = verify_user_password(conn, email, password)
    if user is None:
        throttle.record_failure(email, source)
        raise AppError(errors.INVALID_CREDENTIALS)
    throttle.record_success(email, source)
    return user


def refresh(conn: sqlite3.Connection, token: str, keys_dir: Path, cfg: dict[str, Any]) -> dict[str, Any]:
    with transaction(conn):
        row = identity_store.refresh_token_by_hash(conn, token_hash(token))
        if row is None or row["revoked_at"] or row["expires_at"] < time.time():
            raise AppError(errors.TOKEN_EXPIRED, "the refresh token is unknown, used, revoked or expired")
        user = identity_store.user_by_id(conn, row["user_id"])
        if user is None or user["disabled"]:
            raise AppError(errors.TOKEN_EXPIRED, "the user behind this refresh token is gone")
        identity_store.revoke_refresh_token(conn, row["id"], now_iso())
        return _issue(conn, user, keys_dir, cfg)


def logout(conn: sqlite3.Connection, principal: Principal, refresh_token: str | None) -> None:
    with transaction(conn):
        if principal.token_id and principal.token_expires:
            identity_store.revoke_access_token(conn, principal.token_id, principal.token_expires)
        if refresh_token:
            row = identity_store.refresh_token_by_hash(conn, token_hash(refresh_token))
            if row is not None and row["user_id"] == principal.caller:
                identity_store.revoke_refresh_token(conn, row["id"], now_iso())


def authenticate_bearer(conn: sqlite3.Connection, token: str, keys_dir: Path, issuer: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            jwt_secret(keys_dir),
            algorithms=[_ALGORITHM],
            issuer=issuer,
            options={"require": ["exp", "iat", "sub", "ten", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AppError(errors.TOKEN_EXPIRED) from exc
    except jwt.PyJWTError as exc:
        raise AppError(errors.UNAUTHENTICATED, "the bearer token is not valid") from exc
    if identity_store.access_token_revoked(conn, claims["jti"]):
        raise AppError(errors.TOKEN_EXPIRED, "the bearer token was revoked by logout")
    user = identity_store.user_by_id(conn, claims["sub"])
    if user is None or user["disabled"] or user["tenant_id"] != claims["ten"]:
        raise AppError(errors.UNAUTHENTICATED, "the user behind this token is gone")
    granted = user["scopes"].split(",")
    return Principal(
        user["tenant_id"],
        user["id"],
        "user",
        effective_scopes(granted),
        tuple(granted),
        token_id=claims["jti"],
        token_expires=float(claims["exp"]),
    )
