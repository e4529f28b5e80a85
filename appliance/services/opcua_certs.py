"""The appliance's trust list for OPC UA client certificates, for the API and the CLI.

One list per appliance, under `<state dir>/pki/opcua/` in the standard OPC UA folder layout
(`trusted/`, `issuers/`, `rejected/`; see `simulators.protocols.opcua_trust`). Every live run's
OPC UA server checks client certificates against it, re-reading the folders when they change, so
approving or rejecting a certificate takes effect for running runs from their next connection.
A certificate an HMI presented that nobody approved waits in `rejected`; an admin approves it by
its thumbprint. It is appliance-wide (one plant network, one set of HMIs), so it needs `admin`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from appliance import errors
from appliance.errors import AppError

_THUMBPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")


def pki_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "pki" / "opcua"


def _trust_list(state_dir: Path) -> Any:
    from simulators.protocols.opcua_trust import TrustList

    return TrustList(pki_dir(state_dir))


def _checked(thumbprint: str) -> str:
    value = thumbprint.strip().replace(":", "")
    if not _THUMBPRINT.match(value):
        raise errors.validation("thumbprint", "the certificate's SHA-1 thumbprint: 40 hex digits")
    return value.upper()


def list_certificates(state_dir: Path, status: str | None = None, limit: int = 200,
                      after: str | None = None) -> dict[str, Any]:
    """Certificates of the trust list by thumbprint, as a list page (`after` is a thumbprint)."""
    certs = [c.as_dict() for c in _trust_list(state_dir).list() if status is None or c.status == status]
    if after:
        certs = [c for c in certs if c["thumbprint"] > after.strip().upper()]
    data = certs[:limit]
    more = len(certs) > limit
    return {"data": data, "count": len(data), "has_more": more,
            "next_after": data[-1]["thumbprint"] if more and data else None}


def get_certificate(state_dir: Path, thumbprint: str) -> dict[str, Any]:
    found = _trust_list(state_dir).find(_checked(thumbprint))
    if found is None:
        raise errors.not_found("certificate", thumbprint)
    return dict(found.as_dict())


def set_status(state_dir: Path, thumbprint: str, status: str) -> dict[str, Any]:
    """Move a certificate to `trusted` or `rejected`."""
    trust = _trust_list(state_dir)
    wanted = _checked(thumbprint)
    try:
        moved = trust.trust(wanted) if status == "trusted" else trust.reject(wanted)
    except KeyError:
        raise errors.not_found("certificate", thumbprint) from None
    except OSError as exc:
        raise AppError(errors.CONFLICT, f"the certificate could not be moved: {exc.strerror}") from exc
    return dict(moved.as_dict())


def remove(state_dir: Path, thumbprint: str) -> dict[str, Any]:
    """Delete a certificate from the trust list (an HMI that presents it again lands in rejected)."""
    try:
        return dict(_trust_list(state_dir).remove(_checked(thumbprint)).as_dict())
    except KeyError:
        raise errors.not_found("certificate", thumbprint) from None
