"""`appliance.store.identity`: tenants, keys, users and tokens; lookups by id stay inside the tenant,
and revocation is one-way (a second revoke keeps the first time)."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from appliance.errors import AppError
from appliance.services import identity
from appliance.services.secrets import token_hash
from appliance.store import identity as identity_store
from appliance.store import stats as stats_store
from appliance.store.db import transaction


def test_tenant_lookups(conn: sqlite3.Connection, acme: dict[str, Any], globex: dict[str, Any]) -> None:
    assert identity_store.tenant_by_name(conn, "acme")["id"] == acme["id"]  # type: ignore[index]
    assert identity_store.tenant_by_id(conn, globex["id"])["name"] == "globex"  # type: ignore[index]
    assert identity_store.tenant_by_name(conn, "nobody") is None
    assert [t["id"] for t in identity_store.all_tenants(conn)] == sorted([acme["id"], globex["id"]])
    with pytest.raises(AppError):
        identity.create_tenant(conn, "acme")


def test_key_by_id_never_crosses_tenants(
    conn: sqlite3.Connection, acme: dict[str, Any], globex: dict[str, Any]
) -> None:
    key = identity.create_key(conn, acme["id"], ["read", "generate"], name="ci")
    assert identity_store.key_by_id(conn, acme["id"], key["id"])["name"] == "ci"  # type: ignore[index]
    assert identity_store.key_by_id(conn, globex["id"], key["id"]) is None
    assert identity_store.keys_of_tenant(conn, globex["id"]) == []
    with pytest.raises(AppError):
        identity.revoke_key(conn, globex["id"], key["id"])
    assert identity_store.key_by_id(conn, acme["id"], key["id"])["revoked_at"] is None  # type: ignore[index]


def test_key_is_stored_by_hash_only(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    key = identity.create_key(conn, acme["id"], ["read"])
    row = identity_store.key_by_hash(conn, token_hash(key["api_key"]))
    assert row is not None and row["id"] == key["id"]
    assert key["api_key"] not in row.values()
    principal = identity.authenticate_key(conn, key["api_key"])
    assert principal is not None and principal.tenant_id == acme["id"]


def test_revocation_is_one_way_and_keeps_the_first_time(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    key = identity.create_key(conn, acme["id"], ["read"])
    with transaction(conn):
        identity_store.revoke_key(conn, key["id"], "2025-01-01T00:00:00Z")
        identity_store.revoke_key(conn, key["id"], "2030-01-01T00:00:00Z")
    assert identity_store.key_by_id(conn, acme["id"], key["id"])["revoked_at"] == "2025-01-01T00:00:00Z"  # type: ignore[index]
    assert identity.authenticate_key(conn, key["api_key"]) is None
    assert stats_store.counts(conn)["api_keys_active"] == 0


def test_users_by_email_and_password_change(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    user = identity.create_user(conn, acme["id"], "Ops@Example.com ", "correct horse battery", ["read"])
    assert identity_store.user_by_email(conn, "ops@example.com")["id"] == user["id"]  # type: ignore[index]
    assert identity_store.user_by_id(conn, user["id"])["email"] == "ops@example.com"  # type: ignore[index]
    with pytest.raises(AppError):
        identity.create_user(conn, acme["id"], "ops@example.com", "another long password", ["read"])
    before = identity_store.user_by_id(conn, user["id"])["password_hash"]  # type: ignore[index]
    with transaction(conn):
        identity_store.set_user_password(conn, user["id"], "new-hash")
    assert identity_store.user_by_id(conn, user["id"])["password_hash"] == "new-hash" != before  # type: ignore[index]


def test_refresh_tokens_revoke_per_token_and_per_user(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    user = identity.create_user(conn, acme["id"], "a@example.com", "correct horse battery", ["read"])
    other = identity.create_user(conn, acme["id"], "b@example.com", "correct horse battery", ["read"])
    with transaction(conn):
        for token_id, owner in (("rt1", user), ("rt2", user), ("rt3", user), ("rt4", other)):
            identity_store.insert_refresh_token(
                conn, {"id": token_id, "user_id": owner["id"], "token_hash": f"h-{token_id}", "expires_at": 9e9}
            )
        identity_store.revoke_refresh_token(conn, "rt1", "t1")
        revoked = identity_store.revoke_user_refresh_tokens(conn, user["id"], "t2")
    assert revoked == 2  # rt2 and rt3; rt1 was revoked already and keeps its time
    assert identity_store.refresh_token_by_hash(conn, "h-rt1")["revoked_at"] == "t1"  # type: ignore[index]
    assert identity_store.refresh_token_by_hash(conn, "h-rt3")["revoked_at"] == "t2"  # type: ignore[index]
    assert identity_store.refresh_token_by_hash(conn, "h-rt4")["revoked_at"] is None  # type: ignore[index]


def test_revoked_access_tokens_are_remembered_once(conn: sqlite3.Connection) -> None:
    assert not identity_store.access_token_revoked(conn, "jti-1")
    with transaction(conn):
        identity_store.revoke_access_token(conn, "jti-1", 100.0)
        identity_store.revoke_access_token(conn, "jti-1", 200.0)  # a repeat is ignored, not an error
    assert identity_store.access_token_revoked(conn, "jti-1")
    assert not identity_store.access_token_revoked(conn, "jti-2")


def test_stats_count_what_identity_wrote(
    conn: sqlite3.Connection, acme: dict[str, Any], globex: dict[str, Any]
) -> None:
    identity.create_key(conn, acme["id"], ["read"])
    identity.create_key(conn, globex["id"], ["admin"])
    identity.create_user(conn, acme["id"], "a@example.com", "correct horse battery", ["read"])
    assert stats_store.counts(conn) == {"tenants": 2, "api_keys_active": 2, "users": 1, "audit_entries": 0}
    assert stats_store.ping(conn) > 0
