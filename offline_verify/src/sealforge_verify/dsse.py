"""DSSE v1 envelopes signed with Ed25519.

Why: the in-toto Statement of each job is signed inside a DSSE envelope. DSSE signs a
pre-authentication encoding (PAE) of the payload type and the payload, so a signature can never
be replayed onto the same bytes read as another type. This module only knows bytes and keys; it
does not know what the payload means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sealforge_verify.encoding import b64decode_strict, b64encode, canonical_json, parse_json_object

__all__ = [
    "Envelope",
    "EnvelopeError",
    "EnvelopeSignature",
    "pae",
    "parse_envelope",
    "sign_envelope",
    "verify_envelope",
]


class EnvelopeError(ValueError):
    """The envelope is malformed, or no signature in it verifies."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: ``DSSEv1 SP len(type) SP type SP len(body) SP body``.

    Lengths are byte counts in ASCII decimal; the type is encoded as UTF-8.
    """
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(t), t, len(payload), payload)


@dataclass(frozen=True)
class EnvelopeSignature:
    """One signature: ``keyid`` is an unauthenticated hint naming the key, ``sig`` the raw bytes."""

    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    """A DSSE envelope with its payload already base64-decoded."""

    payload_type: str
    payload: bytes
    signatures: tuple[EnvelopeSignature, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "payload": b64encode(self.payload),
            "payloadType": self.payload_type,
            "signatures": [{"keyid": s.keyid, "sig": b64encode(s.sig)} for s in self.signatures],
        }

    def to_json_bytes(self) -> bytes:
        """Canonical JSON: the exact bytes that go into a bundle and into the seal log."""
        return canonical_json(self.to_dict())


def sign_envelope(payload_type: str, payload: bytes, private_key: Ed25519PrivateKey, keyid: str) -> Envelope:
    """Sign ``payload`` as ``payload_type`` with one Ed25519 key, labelled ``keyid``."""
    sig = private_key.sign(pae(payload_type, payload))
    return Envelope(payload_type, payload, (EnvelopeSignature(keyid, sig),))


def parse_envelope(data: bytes) -> Envelope:
    """Parse envelope JSON; raises :class:`EnvelopeError` naming the first problem found."""
    try:
        obj = parse_json_object(data, "envelope")
    except ValueError as exc:
        raise EnvelopeError(str(exc)) from None
    payload_type = obj.get("payloadType")
    if not isinstance(payload_type, str) or not payload_type:
        raise EnvelopeError("envelope.payloadType must be a non-empty string")
    try:
        payload = b64decode_strict(obj.get("payload"))  # type: ignore[arg-type]
    except ValueError as exc:
        raise EnvelopeError(f"envelope.payload: {exc}") from None
    raw_sigs = obj.get("signatures")
    if not isinstance(raw_sigs, list) or not raw_sigs:
        raise EnvelopeError("envelope.signatures must be a non-empty list")
    sigs: list[EnvelopeSignature] = []
    for i, item in enumerate(raw_sigs):
        if not isinstance(item, dict):
            raise EnvelopeError(f"envelope.signatures[{i}] must be an object")
        keyid = item.get("keyid", "")
        if not isinstance(keyid, str):
            raise EnvelopeError(f"envelope.signatures[{i}].keyid must be a string")
        try:
            sig = b64decode_strict(item.get("sig"))  # type: ignore[arg-type]
        except ValueError as exc:
            raise EnvelopeError(f"envelope.signatures[{i}].sig: {exc}") from None
        sigs.append(EnvelopeSignature(keyid, sig))
    unknown = set(obj) - {"payload", "payloadType", "signatures"}
    if unknown:
        raise EnvelopeError(f"envelope has unknown fields: {', '.join(sorted(unknown))}")
    return Envelope(payload_type, payload, tuple(sigs))


def verify_envelope(envelope: Envelope, public_key: Ed25519PublicKey, keyids: Sequence[str] = ()) -> EnvelopeSignature:
    """Return the first signature that ``public_key`` verifies over the envelope's PAE.

    When ``keyids`` is given, only signatures whose keyid is one of them (or empty) are tried,
    since the keyid is only a hint. Raises :class:`EnvelopeError` when none verifies.
    """
    message = pae(envelope.payload_type, envelope.payload)
    tried = 0
    for s in envelope.signatures:
        if keyids and s.keyid and s.keyid not in keyids:
            continue
        tried += 1
        try:
            public_key.verify(s.sig, message)
        except InvalidSignature:
            continue
        return s
    if not tried:
        raise EnvelopeError(f"no signature carries keyid {' or '.join(keyids)}")
    raise EnvelopeError(f"none of {tried} candidate signature(s) verifies with the key")
