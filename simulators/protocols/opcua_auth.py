"""Who may open an OPC UA session, on which endpoint, and what each session may do.

* **Endpoints.** The secure endpoints (Basic256Sha256, Aes128_Sha256_RsaOaep and
  Aes256_Sha256_RsaPss, all SignAndEncrypt) take user names and passwords only; the None endpoint,
  offered only when asked for, takes anonymous sessions only. asyncua keeps one list of token
  types per server, so the user manager enforces the split per channel: a user-name token on an
  unencrypted channel is refused before its password is looked at (a password never travels in the
  clear to be checked), and an anonymous session on a secure channel is refused.
* **Roles.** The caller's authenticator answers a `Role` (or None): `viewer` may browse, read,
  subscribe and read history; `operator` may also write (AccessLevel still applies) and call
  methods; `admin` may use every service the server offers a client. A `RoleRuleset` checks each
  request against the session's role, so a viewer's Write or Call is answered BadUserAccessDenied.
  No session ever gets asyncua's Admin role, which would bypass every node's AccessLevel.
* **Passwords off the event loop.** asyncua calls the user manager synchronously while it activates
  a session, and a password check (scrypt) takes tens of milliseconds: run there, a flood of bad
  logins would stall every client and the Modbus server sharing the loop. `opcua_gate` runs the
  authenticator in a thread pool before asyncio activates the session, and leaves its answer in
  `VERDICT`; the user manager here only applies it. An authenticator raises `LoginThrottled` to
  refuse without checking the password (the server counts those apart).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from asyncua import ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.permission_rules import USER_TYPES, PermissionRuleset, User, UserRole

from simulators.protocols.opcua_trust import TrustList

log = logging.getLogger(__name__)


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


class LoginThrottled(Exception):
    """An authenticator refused a login without checking its password (too many recent failures)."""


Authenticator = Callable[[str, str, str], "Role | None"]  # (username, password, source address) -> role


@dataclass
class OpcUaSecurity:
    """Which endpoints to open, who may log in, and which client certificates are trusted."""

    allow_none: bool = False  # the unencrypted endpoint: anonymous sessions with `anonymous_role`
    sign_encrypt: bool = True  # the three SignAndEncrypt policies; needs cert_dir
    cert_dir: str | Path | None = None
    authenticate: Authenticator | None = None  # user-name logins on the secure endpoints
    anonymous_role: Role = Role.VIEWER
    pki_dir: str | Path | None = None  # the client-certificate trust list; default <cert_dir>/pki
    login_workers: int = 1
    max_pending_logins: int = 64

    def __post_init__(self) -> None:
        if not (self.allow_none or self.sign_encrypt):
            raise ValueError("enable at least one security mode")
        if self.sign_encrypt and self.cert_dir is None:
            raise ValueError("sign_encrypt needs cert_dir (where the server certificate is kept)")
        if self.sign_encrypt and self.authenticate is None:
            raise ValueError("the secure endpoints take user names: give an authenticate callable")
        if self.login_workers < 1 or self.max_pending_logins < 1:
            raise ValueError("login_workers and max_pending_logins must be at least 1")
        self.anonymous_role = Role(self.anonymous_role)

    def trust_list(self) -> TrustList | None:
        if not self.sign_encrypt:
            return None
        assert self.cert_dir is not None
        return TrustList(self.pki_dir if self.pki_dir is not None else Path(self.cert_dir) / "pki")


@dataclass
class SessionUser(User):
    """An activated session's user, with the role the authenticator gave it."""

    access: Role = Role.VIEWER


def _request(object_id: int) -> ua.NodeId:
    return ua.NodeId(object_id)  # type: ignore[arg-type]


_EVERY = frozenset(_request(t) for t in USER_TYPES)  # asyncua's list of services open to a client
_ALLOWED: dict[Role, frozenset[ua.NodeId]] = {
    Role.VIEWER: _EVERY - {_request(ua.ObjectIds.WriteRequest_Encoding_DefaultBinary),
                           _request(ua.ObjectIds.CallRequest_Encoding_DefaultBinary)},
    Role.OPERATOR: _EVERY,
    Role.ADMIN: _EVERY,
}


class RoleRuleset(PermissionRuleset):
    """Which service requests each role may send (asyncua asks before dispatching every request)."""

    def check_validity(self, user: Any, action_type_id: ua.NodeId, body: Any) -> bool:
        return isinstance(user, SessionUser) and action_type_id in _ALLOWED[user.access]


# The answer `opcua_gate.GatedProcessor` got off the loop for the ActivateSession being processed.
VERDICT: contextvars.ContextVar[tuple[str, str, Role | None] | None] = contextvars.ContextVar(
    "opcua_login_verdict", default=None)


class PasswordUsers:
    """asyncua's user manager: applies the channel rules and the verdict `GatedProcessor` computed
    off the loop. It never runs the authenticator itself."""

    def __init__(self, security: OpcUaSecurity, trust: TrustList | None) -> None:
        self.security = security
        self.trust = trust

    def get_user(self, iserver: Any, username: str | None = None, password: Any = None,
                 certificate: Any = None) -> User | None:
        secure = bool(certificate)  # the channel's client certificate; empty on the None endpoint
        if secure and (self.trust is None or not self.trust.is_trusted(certificate)):
            raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)
        if username is None:
            if secure or not self.security.allow_none:
                raise ServiceError(ua.StatusCodes.BadIdentityTokenRejected)
            return SessionUser(role=UserRole.Anonymous, name="anonymous", access=self.security.anonymous_role)
        if not secure:
            log.warning("OPC UA login for %r over an unencrypted channel refused", username)
            raise ServiceError(ua.StatusCodes.BadIdentityTokenRejected)
        verdict = VERDICT.get()
        if verdict is None or verdict[:2] != (username, text(password)) or verdict[2] is None:
            return None
        return SessionUser(role=UserRole.User, name=username, access=verdict[2])


def text(password: Any) -> str:
    return password.decode("utf-8", "replace") if isinstance(password, bytes) else str(password or "")

