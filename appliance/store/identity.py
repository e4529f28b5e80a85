"""Queries for tenants, users, API keys and tokens."""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.store.db import fetch_all, fetch_one


def insert_tenant(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO tenants (id, name, credits_micro, tier, created_at)"
        " VALUES (:id, :name, :credits_micro, :tier, :created_at)",
        {"tier": "standard", **row},
    )


def tenant_by_name(conn: sqlite3.Connection, name: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM tenants WHERE name = ?", (name,))


def tenant_by_id(conn: sqlite3.Connection, tenant_id: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM tenants WHERE id = ?", (tenant_id,))


def all_tenants(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return fetch_all(conn, "SELECT * FROM tenants ORDER BY id")


def insert_key(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scopes, created_at)"
        " VALUES (:id, :tenant_id, :name, :prefix, :key_hash, :scopes, :created_at)",
        row,
    )


def key_by_hash(conn: sqlite3.Connection, key_hash: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM api_keys WHERE key_hash = ?", (key_hash,))


def key_by_id(conn: sqlite3.Connection, tenant_id: str, key_id: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM api_keys WHERE id = ? AND tenant_id = ?", (key_id, tenant_id))


def keys_of_tenant(conn: sqlite3.Connection, tenant_id: str) -> list[dict[str, Any]]:
    return fetch_all(conn, "SELECT * FROM api_keys WHERE tenant_id = ? ORDER BY id", (tenant_id,))


def revoke_key(conn: sqlite3.Connection, key_id: str, at: str) -> None:
    conn.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (at, key_id))


def insert_user(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO users (id, tenant_id, email, password_hash, scopes, created_at)"
        " VALUES (:id, :tenant_id, :email, :password_hash, :scopes, :created_at)",
        row,
    )


def user_by_email(conn: sqlite3.Connection, email: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM users WHERE email = ?", (email,))


def user_by_id(conn: sqlite3.Connection, user_id: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM users WHERE id = ?", (user_id,))


def set_user_password(conn: sqlite3.Connection, user_id: str, password_hash: str) -> None:
    conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))


def revoke_user_refresh_tokens(conn: sqlite3.Connection, user_id: str, at: str) -> int:
    cur = conn.execute(
        "UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", (at, user_id)
    )
    return cur.rowcount


def insert_refresh_token(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO refresh_tokens (id, user_id, token_hash, expires_at)"
        " VALUES (:id, :user_id, :token_hash, :expires_at)",
        row,
    )


def refresh_token_by_hash(conn: sqlite3.Connection, token_hash: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM refresh_tokens WHERE token_hash = ?", (token_hash,))


def revoke_refresh_token(conn: sqlite3.Connection, token_id: str, at: str) -> None:
    conn.execute("UPDATE refresh_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (at, token_id))


def revoke_access_token(conn: sqlite3.Connection, jti: str, expires_at: float) -> None:
    conn.execute("INSERT OR IGNORE INTO revoked_access_tokens (jti, expires_at) VALUES (?, ?)", (jti, expires_at))


def access_token_revoked(conn: sqlite3.Connection, jti: str) -> bool:
    return conn.execute("SELECT 1 FROM revoked_access_tokens WHERE jti = ?", (jti,)).fetchone() is not None


def auth_generation(conn: sqlite3.Connection) -> int:
    """The counter the ``api_keys`` triggers bump on every change (migration 9): one indexed row."""
    row = conn.execute("SELECT n FROM auth_generation WHERE id = 1").fetchone()
    return int(row[0])


def set_tenant_tier(conn: sqlite3.Connection, tenant_id: str, tier: str) -> bool:
    """Set a tenant's tier; False when there is no such tenant."""
    return conn.execute("UPDATE tenants SET tier = ? WHERE id = ?", (tier, tenant_id)).rowcount > 0


def users_of_tenant(conn: sqlite3.Connection, tenant_id: str) -> list[dict[str, Any]]:
    return fetch_all(
        conn,
        "SELECT id, tenant_id, email, scopes, disabled, created_at FROM users WHERE tenant_id = ? ORDER BY id",
        (tenant_id,),
    )


def set_user_disabled(conn: sqlite3.Connection, user_id: str, disabled: bool) -> None:
    conn.execute("UPDATE users SET disabled = ? WHERE id = ?", (1 if disabled else 0, user_id))


def tenants_without_users(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Tenants no one can log in to yet: the ones the web UI's setup page may still give a first admin."""
    return fetch_all(
        conn,
        "SELECT * FROM tenants WHERE NOT EXISTS (SELECT 1 FROM users WHERE users.tenant_id = tenants.id) ORDER BY id",
    )


def tenant_has_users(conn: sqlite3.Connection, tenant_id: str) -> bool:
    return conn.execute("SELECT 1 FROM users WHERE tenant_id = ? LIMIT 1", (tenant_id,)).fetchone() is not None
