"""The first admin user of a tenant, made from a browser with the console's setup key (issue #22).

The signed image has no shell and no default password: its first boot shows a setup key (an API
key with the `operator` scope) on the console, and whoever can read the console owns the box. A
plant engineer at a browser cannot log in to the web UI with an API key, and users were made only
by the admin CLI, so this module lets the key make the first user of its tenant once: the web UI's
``/setup`` page calls :func:`first_admin`.

Any live key holding `admin` (the setup key, or an admin key such as the one ``sealforge admin
bootstrap`` prints) is accepted: such a key already makes users through ``POST /v1/users``, so the
page grants nothing the key did not. The user gets the tenant's admin set (`admin`, which implies
`generate` and `read`), never `operator`, which stays with the key and the CLI. Once the tenant
has any user the page refuses (``SETUP_DONE``): later users come from an admin.

Wrong keys are throttled like password logins (``appliance.services.login_throttle``), counted
under one account for the page and under the caller's address: a key is 256 random bits, so the
throttle is not what keeps it safe; it keeps a guesser from costing the appliance anything.
"""

from __future__ import annotations

import math
import sqlite3
from typing import Any

from appliance import errors
from appliance.errors import AppError
from appliance.services import identity
from appliance.services.login_throttle import LoginThrottle
from appliance.store import identity as identity_store

THROTTLE_ACCOUNT = "/setup"
"""The setup page's account in the login throttle: not an email (no `@`), so no user shares its count."""
FIRST_ADMIN_SCOPES = ("admin",)


def open_tenants(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Tenants without any user yet; while there is one, the login page offers the setup page."""
    return identity_store.tenants_without_users(conn)


def first_admin(
    conn: sqlite3.Connection, setup_key: str, email: str, password: str, throttle: LoginThrottle, source: str
) -> dict[str, Any]:
    """Make the first user of the setup key's tenant, with the tenant's admin scopes.

    Raises ``LOGIN_THROTTLED`` while the page or the address is waiting after wrong keys,
    ``SETUP_KEY_INVALID`` for a key that is unknown, revoked or lacks `admin` (counted by the
    throttle), ``SETUP_DONE`` once the tenant has a user, ``VALIDATION_FAILED`` for an email or
    password the user rules refuse, and ``CONFLICT`` for an email another user has."""
    wait = throttle.retry_after(THROTTLE_ACCOUNT, source)
    if wait > 0:
        raise AppError(
            errors.LOGIN_THROTTLED,
            f"too many wrong setup keys from this address or for this page; try again in {math.ceil(wait)} s",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    who = identity.authenticate_key(conn, setup_key.strip())
    if who is None or not who.has("admin"):
        throttle.record_failure(THROTTLE_ACCOUNT, source)
        reason = "is unknown or revoked" if who is None else "lacks the `admin` scope"
        raise AppError(errors.SETUP_KEY_INVALID, f"this key {reason}; copy the setup key from the console again")
    throttle.record_success(THROTTLE_ACCOUNT, source)
    if identity_store.tenant_has_users(conn, who.tenant_id):  # before the password's scrypt, not only after
        raise AppError(errors.SETUP_DONE, "this tenant has a user already; log in instead")
    return identity.create_user(
        conn, who.tenant_id, email, password, list(FIRST_ADMIN_SCOPES), first_of_tenant=True
    )
