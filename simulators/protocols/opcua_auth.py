"""Who may open an OPC UA session: the endpoints to offer and the caller's password check.

The appliance owns the users, so the server takes a plain `authenticate(username, password) ->
bool` and never stores a password. asyncua calls the user manager synchronously while it
activates a session, so the check must be quick (it blocks the server's event loop while it runs).
A session never gets asyncua's Admin role, which would bypass every node's AccessLevel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncua.crypto.permission_rules import User, UserRole

log = logging.getLogger(__name__)

Authenticator = Callable[[str, str], bool]


@dataclass
class OpcUaSecurity:
    """Which endpoints to open and who may log in."""

    allow_none: bool = True  # the unsecured endpoint, for lab rigs
    sign_encrypt: bool = True  # Basic256Sha256 SignAndEncrypt; needs cert_dir
    cert_dir: str | Path | None = None
    authenticate: Authenticator | None = None  # username/password check; None: no user logins
    allow_anonymous: bool = True

    def __post_init__(self) -> None:
        if not (self.allow_none or self.sign_encrypt):
            raise ValueError("enable at least one security mode")
        if self.sign_encrypt and self.cert_dir is None:
            raise ValueError("sign_encrypt needs cert_dir (where the server certificate is kept)")
        if not self.allow_anonymous and self.authenticate is None:
            raise ValueError("without anonymous access an authenticate callable is needed")


class PasswordUsers:
    """asyncua user manager around the caller's password check. Never grants the Admin role, so the
    AccessLevel of every node is enforced for every session."""

    def __init__(self, security: OpcUaSecurity) -> None:
        self.security = security

    def get_user(self, iserver: Any, username: str | None = None, password: Any = None,
                 certificate: Any = None) -> User | None:
        if username is None:
            return User(role=UserRole.User, name="anonymous") if self.security.allow_anonymous else None
        check = self.security.authenticate
        if check is None:
            return None
        secret = password.decode("utf-8", "replace") if isinstance(password, bytes) else str(password or "")
        try:
            ok = bool(check(username, secret))
        except Exception:
            log.exception("authenticate() failed for %r; refusing the session", username)
            ok = False
        if not ok:
            log.warning("OPC UA login refused for %r", username)
            return None
        return User(role=UserRole.User, name=username)
