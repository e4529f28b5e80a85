"""How the client trusts an appliance's HTTPS certificate: a CA file, or a pinned fingerprint.

An appliance off loopback serves HTTPS, usually with a certificate it made itself, which no CA
vouches for. Two ways to trust it:

- ``ca_file``: a PEM file of trusted certificates (the appliance's own ``<state>/tls/server.crt``
  works as one, or the site CA that signed the operator's certificate). The chain and the host
  name are checked as usual.
- ``pin_sha256``: the SHA-256 fingerprint of the appliance's certificate, as ``sealforge admin
  bootstrap`` prints it. The chain is not checked (there is none to check); the certificate must
  be exactly that one. The check runs inside the TLS handshake, in ``do_handshake`` of the socket
  (and of the memory BIO object async stacks use), so a connection to any other certificate fails
  before a single byte of the request, and so before the API key, is written.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
from pathlib import Path

PIN_HEX_DIGITS = 64


def normalize_pin(pin: str) -> str:
    """``AB:CD:…`` (any case, colons and spaces optional) to 64 lower-case hex digits."""
    digits = "".join(pin.split()).replace(":", "").lower()
    if len(digits) != PIN_HEX_DIGITS or any(c not in "0123456789abcdef" for c in digits):
        raise ValueError(
            "a pin is the SHA-256 fingerprint of the appliance's certificate: 64 hex digits, colons optional "
            "(`sealforge admin bootstrap` prints it as tls_fingerprint)"
        )
    return digits


def _colon(digits: str) -> str:
    return ":".join(digits[i : i + 2] for i in range(0, len(digits), 2)).upper()


class PinMismatchError(ssl.SSLCertVerificationError):
    """The server's certificate is not the pinned one."""


def _check_pin(context: ssl.SSLContext, der: bytes | None) -> None:
    want = getattr(context, "pin", "")
    got = hashlib.sha256(der).hexdigest() if der else ""
    if not hmac.compare_digest(got, want):
        shown = _colon(got) if got else "none"
        raise PinMismatchError(
            f"the server's certificate (SHA-256 {shown}) is not the pinned one ({_colon(want)}); nothing was sent"
        )


class _PinnedSocket(ssl.SSLSocket):
    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        _check_pin(self.context, self.getpeercert(binary_form=True))


class _PinnedObject(ssl.SSLObject):
    def do_handshake(self) -> None:
        super().do_handshake()
        _check_pin(self.context, self.getpeercert(binary_form=True))


class PinnedContext(ssl.SSLContext):
    """A client context whose every handshake ends with the fingerprint check."""

    sslsocket_class = _PinnedSocket
    sslobject_class = _PinnedObject
    pin: str = ""


def pinned_context(pin_sha256: str, ca_file: str | Path | None = None) -> PinnedContext:
    """Trust exactly the certificate with this fingerprint (and, with ``ca_file``, check its chain too)."""
    context = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.pin = normalize_pin(pin_sha256)
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def verify_setting(base_url: str, ca_file: str | Path | None, pin_sha256: str | None) -> ssl.SSLContext | bool:
    """What httpx's ``verify`` gets: True (the system's CAs) unless a CA file or a pin is given."""
    if ca_file is None and not pin_sha256:
        return True
    if not base_url.lower().startswith("https://"):
        raise ValueError(f"a CA file or a pin is for an https:// URL; {base_url} would send the API key in cleartext")
    if pin_sha256:
        return pinned_context(pin_sha256, ca_file)
    context = ssl.create_default_context(cafile=str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
