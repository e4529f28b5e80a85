"""C2SP tlog-cosignature (``cosignature/v1``, Ed25519): witness keys, and signing and checking
cosignatures on checkpoints.

Why: a log's own signature says what the log claims; a cosignature says that a witness, holding
its own key, saw that checkpoint and checked that it extends the last one it cosigned. An auditor
who requires cosignatures from witnesses it trusts cannot be shown a split view of the log (one
history for them, another for someone else) unless those witnesses were fooled too.

Formats, from C2SP tlog-cosignature and signed-note:

- key id: the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x04 ‖ 32-byte Ed25519 public key): the
  type byte 0x04 keeps a witness key's id apart from the same key used for plain note signatures;
- verifier key (vkey): ``name+hex(keyid)+base64(0x04 ‖ pubkey)``;
- signer key: ``PRIVATE+KEY+name+hex(keyid)+base64(0x04 ‖ seed)`` (a Go ``note.GenerateKey``
  key, type 0x01, is accepted too, as transparency-dev's cosigner does);
- signed message: ``cosignature/v1\\n`` ``time <unix seconds>\\n`` then the checkpoint body;
- signature line: ``— name base64(keyid ‖ u64 big-endian timestamp ‖ 64-byte signature)``.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sealforge_verify.encoding import b64encode
from sealforge_verify.keys import parse_key_lines
from sealforge_verify.note import (
    ALG_ED25519,
    NamedKey,
    Note,
    NoteError,
    NoteSignature,
    check_key_name,
    format_signature_line,
    join_note,
    parse_key_text,
    signature_line,
)

__all__ = [
    "ALG_COSIGNATURE_V1",
    "Cosignature",
    "WitnessKey",
    "WitnessSigner",
    "cosign",
    "cosignature_line",
    "cosignature_message",
    "cosignatures_of",
    "parse_witness_key",
    "parse_witness_keys",
    "parse_witness_signer",
    "signature_line",
    "witness_key_id",
]

ALG_COSIGNATURE_V1 = 0x04
HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1
SIGNATURE_SIZE = 8 + 64


def witness_key_id(name: str, public_key: bytes) -> bytes:
    """C2SP key id of an Ed25519 cosigner: SHA-256(name ‖ 0x0A ‖ 0x04 ‖ pubkey)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_COSIGNATURE_V1]) + public_key).digest()[:4]


def cosignature_message(body: str, timestamp: int) -> bytes:
    """The bytes a ``cosignature/v1`` signature covers: header, time line, the checkpoint body."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"cosignature timestamp {timestamp} is out of range")
    if len(body.split("\n")) < 4 or not body.endswith("\n"):
        raise NoteError("a cosigned note must be a checkpoint body: origin, size and root hash lines")
    return f"{HEADER}time {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class WitnessKey(NamedKey):
    """A witness's public key, as an auditor (or the appliance) trusts it; its ``text`` is the vkey."""

    ALG: ClassVar[int] = ALG_COSIGNATURE_V1

    def verify(self, body: str, signature: NoteSignature) -> int | None:
        """The cosignature's timestamp when ``signature`` is this key's valid cosignature of
        ``body``; None when it is not this key's line or does not verify."""
        if (signature.name, signature.key_id) != (self.name, self.key_id) or len(signature.signature) != SIGNATURE_SIZE:
            return None
        (timestamp,) = struct.unpack(">Q", signature.signature[:8])
        try:
            self.public_key.verify(signature.signature[8:], cosignature_message(body, timestamp))
        except (InvalidSignature, NoteError):
            return None
        return int(timestamp)


def parse_witness_key(text: str) -> WitnessKey:
    """Parse a cosigner vkey (type 0x04), checking that its key id matches the key."""
    wrong = "not a cosignature/v1 witness key (type 0x04 and 32 bytes of Ed25519 public key)"
    fields = parse_key_text(text, "witness key", (ALG_COSIGNATURE_V1,), wrong)
    key = WitnessKey(fields.name, Ed25519PublicKey.from_public_bytes(fields.key), fields.key)
    fields.check_id(key.key_id, "witness key")
    return key


def parse_witness_keys(text: str) -> list[WitnessKey]:
    """Witness keys from a file's text: one vkey a line, ``#`` comments and blank lines allowed."""
    return parse_key_lines(text, parse_witness_key, "witness key")


@dataclass(frozen=True)
class WitnessSigner:
    """A witness's private key: it cosigns checkpoints."""

    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> WitnessSigner:
        check_key_name(name)
        return cls(name, Ed25519PrivateKey.generate())

    @property
    def verifier(self) -> WitnessKey:
        public = self.private_key.public_key()
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return WitnessKey(self.name, public, raw)

    @property
    def text(self) -> str:
        """``PRIVATE+KEY+name+hex(keyid)+base64(0x04 ‖ seed)``; keep it secret (mode 0600)."""
        seed = self.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return f"PRIVATE+KEY+{self.verifier.ref}+{b64encode(bytes([ALG_COSIGNATURE_V1]) + seed)}"


def parse_witness_signer(text: str) -> WitnessSigner:
    """Parse a witness signer key (type 0x04, or a plain Ed25519 note key of type 0x01)."""
    wrong = "witness private key is not an Ed25519 key (type 0x04 or 0x01, 32 bytes)"
    fields = parse_key_text(text, "witness private key", (ALG_COSIGNATURE_V1, ALG_ED25519), wrong, private=True)
    signer = WitnessSigner(fields.name, Ed25519PrivateKey.from_private_bytes(fields.key))
    if fields.key_type == ALG_COSIGNATURE_V1:
        fields.check_id(signer.verifier.key_id, "witness private key")
    return signer


def cosignature_line(signer: WitnessSigner, body: str, timestamp: int | None = None) -> str:
    """The signature line (with its newline) that cosigns the checkpoint ``body`` now."""
    when = int(time.time()) if timestamp is None else timestamp
    signature = signer.private_key.sign(cosignature_message(body, when))
    key = signer.verifier
    return format_signature_line(key.name, key.key_id, struct.pack(">Q", when) + signature)


def cosign(note: Note, signer: WitnessSigner, timestamp: int | None = None) -> str:
    """The whole note with this witness's cosignature added (in place of an older one of its own)."""
    me = (signer.name, signer.verifier.key_id)
    kept = [signature_line(s) for s in note.signatures if (s.name, s.key_id) != me]
    return join_note(note.text, [*kept, cosignature_line(signer, note.text, timestamp)])


@dataclass(frozen=True)
class Cosignature:
    """A cosignature that verified: whose, and when the witness made it."""

    key: WitnessKey
    timestamp: int


def cosignatures_of(note: Note, witnesses: Iterable[WitnessKey]) -> tuple[list[Cosignature], list[str]]:
    """The valid cosignatures on ``note`` by ``witnesses`` (one per witness, the newest), and the
    refs of given witnesses whose line is present but does not verify. Other lines are ignored."""
    found: dict[WitnessKey, Cosignature] = {}
    bad: list[str] = []
    for key in witnesses:
        for signature in note.signatures:
            if (signature.name, signature.key_id) != (key.name, key.key_id):
                continue
            timestamp = key.verify(note.text, signature)
            if timestamp is None:
                bad.append(key.ref)
            elif key not in found or timestamp > found[key].timestamp:
                found[key] = Cosignature(key, timestamp)
    return list(found.values()), bad
