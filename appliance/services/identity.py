"""Tenants, API keys and users: creation, lookup, revocation and bootstrap."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from appliance import errors
from appliance.clock import now_iso
from appliance.errors import AppError
from appliance.fsutil import write_atomic
from appliance.ids import new_id
from appliance.services.credits import from_micro, to_micro
from appliance.services.principal import OPERATOR, Principal, effective_scopes, parse_scopes
from appliance.services.secrets import KEY_PREFIX, hash_password, new_api_key, token_hash
from appliance.store import identity as identity_store
from appliance.store import pages
from appliance.store import ui_sessions as ui_sessions_store
from appliance.store.db import transaction

DEFAULT_TENANT = "default"
BOOTSTRAP_KEY_FILE = "bootstrap.key"
OPERATOR_ONLY_BY_CLI = (
    "the `operator` scope is granted only by `sealforge admin keys create` on the appliance, not through the API"
)


def public_key_row(row: dict[str, Any]) -> dict[str, Any]:
    """A key as the API shows it: never the hash, only the first characters as a reminder."""
    return {
        "id": row["id"],
        "tenant_id": row["tenant_id"],
        "name": row["name"],
        "prefix": row["prefix"],
        "scopes": row["scopes"].split(","),
        "created_at": row["created_at"],
        "revoked_at": row["revoked_at"],
    }


def public_tenant_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "credits": from_micro(row["credits_micro"]),
        "tier": row.get("tier", "standard"),
        "created_at": row["created_at"],
    }


TIERS = ("free", "standard")


def create_tenant(conn: sqlite3.Connection, name: str, credits: float = 0, tier: str = "standard") -> dict[str, Any]:
    """A new tenant, with its tier from the start (a `free` tenant's first job already runs on the
    `free` queue; creating then calling `set_tier` would leave a window where it does not)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise errors.validation("name", "a tenant name is 1 to 100 characters")
    if credits < 0:
        raise errors.validation("credits", "credits cannot be negative")
    if tier not in TIERS:
        raise errors.validation("tier", f"one of {', '.join(TIERS)}")
    with transaction(conn):
        if identity_store.tenant_by_name(conn, name):
            raise AppError(errors.CONFLICT, f"a tenant named {name!r} exists already")
        row = {
            "id": new_id("ten"), "name": name, "credits_micro": to_micro(credits), "tier": tier, "created_at": now_iso()
        }
        identity_store.insert_tenant(conn, row)
    return row


def set_tier(conn: sqlite3.Connection, tenant_id: str, tier: str) -> dict[str, Any]:
    """A tenant's tier: `free` puts all its jobs on the `free` queue (see appliance.jobs.published)."""
    if tier not in TIERS:
        raise errors.validation("tier", f"one of {', '.join(TIERS)}")
    with transaction(conn):
        if not identity_store.set_tenant_tier(conn, tenant_id, tier):
            raise errors.not_found("tenant", tenant_id)
    return require_tenant(conn, tenant_id)


def require_tenant(conn: sqlite3.Connection, tenant_id: str) -> dict[str, Any]:
    row = identity_store.tenant_by_id(conn, tenant_id)
    if row is None:
        raise errors.not_found("tenant", tenant_id)
    return row


def _checked_scopes(scopes: str | list[str], allow_operator: bool) -> list[str]:
    try:
        scope_list = parse_scopes(scopes)
    except ValueError as exc:
        raise errors.validation("scopes", str(exc)) from exc
    if OPERATOR in scope_list and not allow_operator:
        raise errors.validation("scopes", OPERATOR_ONLY_BY_CLI)
    return scope_list


def create_key(
    conn: sqlite3.Connection,
    tenant_id: str,
    scopes: str | list[str],
    name: str = "",
    *,
    allow_operator: bool = False,
) -> dict[str, Any]:
    """Create a key; the plaintext is in the answer once and never stored.

    ``allow_operator`` is for the admin CLI alone: the API never lets a tenant grant ``operator``.
    """
    scope_list = _checked_scopes(scopes, allow_operator)
    if len(name) > 100:
        raise errors.validation("name", "at most 100 characters")
    plaintext = new_api_key()
    with transaction(conn):
        require_tenant(conn, tenant_id)
        row = {
            "id": new_id("key"),
            "tenant_id": tenant_id,
            "name": name or "unnamed",
            "prefix": plaintext[: len(KEY_PREFIX) + 6],
            "key_hash": token_hash(plaintext),
            "scopes": ",".join(scope_list),
            "created_at": now_iso(),
        }
        identity_store.insert_key(conn, row)
    return {**public_key_row({**row, "revoked_at": None}), "api_key": plaintext}


def list_keys(conn: sqlite3.Connection, tenant_id: str) -> list[dict[str, Any]]:
    return [public_key_row(r) for r in identity_store.keys_of_tenant(conn, tenant_id)]


def key_listing(conn: sqlite3.Connection, tenant_id: str, limit: int, after: str | None) -> dict[str, Any]:
    """One page of the tenant's keys, oldest first, without their hashes."""
    return pages.page(conn, "api_keys", {"tenant_id": tenant_id}, limit=limit, after=after).listing(public_key_row)


def get_key(conn: sqlite3.Connection, tenant_id: str, key_id: str) -> dict[str, Any]:
    row = identity_store.key_by_id(conn, tenant_id, key_id)
    if row is None:
        raise errors.not_found("key", key_id)
    return public_key_row(row)


def revoke_key(conn: sqlite3.Connection, tenant_id: str, key_id: str) -> dict[str, Any]:
    with transaction(conn):
        row = identity_store.key_by_id(conn, tenant_id, key_id)
        if row is None:
            raise errors.not_found("key", key_id)
        identity_store.revoke_key(conn, key_id, now_iso())
        row = identity_store.key_by_id(conn, tenant_id, key_id)
    assert row is not None
    return public_key_row(row)


def authenticate_key(conn: sqlite3.Connection, plaintext: str) -> Principal | None:
    if not plaintext.startswith(KEY_PREFIX):
        return None
    return _principal_of(conn, token_hash(plaintext))


def _principal_of(conn: sqlite3.Connection, key_hash: str) -> Principal | None:
    row = identity_store.key_by_hash(conn, key_hash)
    if row is None or row["revoked_at"] is not None:
        return None
    granted = row["scopes"].split(",")
    return Principal(row["tenant_id"], row["id"], "key", effective_scopes(granted), tuple(granted))


class KeyCache:
    """Keys already looked up by this process, each kept at most ``ttl_s`` seconds.

    Revocation stays immediate in every process: each call first reads the database's auth
    generation (one row that triggers bump on any change to ``api_keys``, see migration 9) and drops
    every cached key when it moved. The generation is read *before* the key row, so a change that
    commits between the two reads leaves the entry filed under the old generation, and the next
    request drops it; an entry is only ever served to a request that read the generation it was
    filed under. Unknown and revoked keys are never cached (a guesser always reaches the
    database), and entries are held by the key's hash, not its plaintext.
    """

    MAX_ENTRIES = 4096

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        # The generation and the entries read under it, swapped as one tuple so that a thread never
        # pairs one generation with another's entries.
        self._state: tuple[int | None, dict[str, tuple[Principal, float]]] = (None, {})

    def authenticate(self, conn: sqlite3.Connection, plaintext: str, now: float) -> Principal | None:
        if not plaintext.startswith(KEY_PREFIX):
            return None
        key_hash = token_hash(plaintext)
        if self.ttl_s <= 0:
            return _principal_of(conn, key_hash)
        generation = identity_store.auth_generation(conn)
        seen, entries = self._state
        if seen != generation:
            entries = {}
            self._state = (generation, entries)
        cached = entries.get(key_hash)
        if cached is not None and cached[1] > now:
            return cached[0]
        who = _principal_of(conn, key_hash)
        if who is not None:
            if len(entries) >= self.MAX_ENTRIES:
                entries.clear()
            entries[key_hash] = (who, now + self.ttl_s)
        return who


def public_user_row(row: dict[str, Any]) -> dict[str, Any]:
    """A user as the API and the admin pages show it: never the password hash."""
    return {
        "id": row["id"],
        "tenant_id": row["tenant_id"],
        "email": row["email"],
        "scopes": parse_scopes(row["scopes"]),
        "disabled": bool(row["disabled"]),
        "created_at": row["created_at"],
    }


PASSWORD_MIN_CHARS = 12
PASSWORD_MAX_CHARS = 1024
"""Long enough to resist guessing; short enough that one scrypt hash stays a small, fixed cost."""


def _checked_password(password: str) -> str:
    if len(password) < PASSWORD_MIN_CHARS:
        raise errors.validation("password", f"a password is at least {PASSWORD_MIN_CHARS} characters")
    if len(password) > PASSWORD_MAX_CHARS:
        raise errors.validation("password", f"a password is at most {PASSWORD_MAX_CHARS} characters")
    return hash_password(password)


def create_user(
    conn: sqlite3.Connection,
    tenant_id: str,
    email: str,
    password: str,
    scopes: str | list[str],
    *,
    allow_operator: bool = False,
    first_of_tenant: bool = False,
) -> dict[str, Any]:
    """A user who logs in with a password (scrypt-hashed; the plaintext is never kept).

    ``first_of_tenant`` is the web UI's setup page: the user is made only while the tenant has no
    user at all, checked in the insert's own transaction, so two setup forms sent at once never
    make two first admins (the second gets ``SETUP_DONE``)."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise errors.validation("email", "not an email address")
    scope_list = _checked_scopes(scopes, allow_operator)
    password_hash = _checked_password(password)
    with transaction(conn):
        require_tenant(conn, tenant_id)
        if first_of_tenant and identity_store.tenant_has_users(conn, tenant_id):
            raise AppError(errors.SETUP_DONE, "this tenant has a user already; log in instead")
        if identity_store.user_by_email(conn, email):
            raise AppError(errors.CONFLICT, f"a user with email {email!r} exists already")
        row = {
            "id": new_id("usr"),
            "tenant_id": tenant_id,
            "email": email,
            "password_hash": password_hash,
            "scopes": ",".join(scope_list),
            "created_at": now_iso(),
        }
        identity_store.insert_user(conn, row)
    return public_user_row({**row, "disabled": 0})


def set_password(conn: sqlite3.Connection, email: str, password: str) -> dict[str, Any]:
    """Give a user a new password and end every session it has (its refresh tokens and web UI
    sessions are revoked), so a password that leaked stops working at once and a stolen session
    cannot outlive the change.
    Access tokens already issued still run out within ``[auth] access_ttl_s``."""
    email = email.strip().lower()
    password_hash = _checked_password(password)
    with transaction(conn):
        user = identity_store.user_by_email(conn, email)
        if user is None:
            raise errors.not_found("user", email)
        ended = _replace_password(conn, user["id"], password_hash)
    return {"id": user["id"], "email": email, "sessions_ended": ended}


def set_user_password(conn: sqlite3.Connection, tenant_id: str, user_id: str, password: str) -> dict[str, Any]:
    """``set_password`` for a tenant's admin (``POST /v1/users/{id}/password``): the user is named by
    id within the caller's tenant, so another tenant's user is ``NOT_FOUND``."""
    password_hash = _checked_password(password)
    with transaction(conn):
        user = identity_store.user_by_id(conn, user_id)
        if user is None or user["tenant_id"] != tenant_id:
            raise errors.not_found("user", user_id)
        ended = _replace_password(conn, user_id, password_hash)
    return {**public_user_row(user), "sessions_ended": ended}


def _replace_password(conn: sqlite3.Connection, user_id: str, password_hash: str) -> int:
    identity_store.set_user_password(conn, user_id, password_hash)
    ended = identity_store.revoke_user_refresh_tokens(conn, user_id, now_iso())
    return ended + ui_sessions_store.revoke_user_sessions(conn, user_id, now_iso())


def bootstrap(conn: sqlite3.Connection, keys_dir: Path) -> dict[str, Any]:
    """Create the first tenant and an admin key, or return the ones made before.

    The bootstrap key's plaintext is kept in ``keys/bootstrap.key`` (0600) so that running this again
    prints the same answer instead of minting keys; if that key was revoked, a new one replaces it.
    """
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    key_file = keys_dir / BOOTSTRAP_KEY_FILE
    tenant = identity_store.tenant_by_name(conn, DEFAULT_TENANT)
    created = False
    if tenant is None:
        tenant = create_tenant(conn, DEFAULT_TENANT)
        created = True
    if key_file.exists():
        saved = json.loads(key_file.read_text())
        principal = authenticate_key(conn, saved.get("api_key", ""))
        if principal is not None and principal.tenant_id == tenant["id"]:
            return {"tenant_id": tenant["id"], "api_key": saved["api_key"], "created": created}
    key = create_key(conn, tenant["id"], ["admin"], name="bootstrap")
    record = {"tenant_id": tenant["id"], "api_key": key["api_key"], "key_id": key["id"]}
    write_atomic(key_file, json.dumps(record).encode(), 0o600)
    return {"tenant_id": tenant["id"], "api_key": key["api_key"], "created": True}


def list_users(conn: sqlite3.Connection, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's users for the admin page: never a password hash."""
    return [public_user_row(row) for row in identity_store.users_of_tenant(conn, tenant_id)]


USER_COLUMNS = "id, tenant_id, email, scopes, disabled, created_at"


def user_listing(conn: sqlite3.Connection, tenant_id: str, limit: int, after: str | None) -> dict[str, Any]:
    """One page of the tenant's users, oldest first (``GET /v1/users``)."""
    listed = pages.page(conn, "users", {"tenant_id": tenant_id}, limit=limit, after=after, columns=USER_COLUMNS)
    return listed.listing(public_user_row)


def get_user(conn: sqlite3.Connection, tenant_id: str, user_id: str) -> dict[str, Any]:
    user = identity_store.user_by_id(conn, user_id)
    if user is None or user["tenant_id"] != tenant_id:
        raise errors.not_found("user", user_id)
    return public_user_row(user)


def set_user_disabled(
    conn: sqlite3.Connection, tenant_id: str, user_id: str, disabled: bool, acting_user_id: str | None = None
) -> dict[str, Any]:
    """Disable a user (every session and refresh token it has ends now, and it cannot log in) or
    enable it again. An admin cannot disable the user it is logged in as, so no one locks the
    tenant's last admin out by a slip of the mouse; another admin or the CLI can."""
    if disabled and user_id == acting_user_id:
        raise errors.validation("user_id", "you cannot disable the user you are logged in as")
    with transaction(conn):
        user = identity_store.user_by_id(conn, user_id)
        if user is None or user["tenant_id"] != tenant_id:
            raise errors.not_found("user", user_id)
        identity_store.set_user_disabled(conn, user_id, disabled)
        ended = 0
        if disabled:
            ended = identity_store.revoke_user_refresh_tokens(conn, user_id, now_iso())
            ended += ui_sessions_store.revoke_user_sessions(conn, user_id, now_iso())
    return {**public_user_row({**user, "disabled": disabled}), "sessions_ended": ended}
