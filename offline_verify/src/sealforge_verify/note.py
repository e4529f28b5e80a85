"""C2SP signed notes with Ed25519 keys, and the checkpoint body they carry.

Why: the seal log publishes each tree head as a signed checkpoint in the C2SP ``signed-note``
format (the format of Go's ``golang.org/x/mod/sumdb/note`` and transparency-dev). Using the
standard format means an auditor's existing tooling can read our checkpoints too.

Formats, from the specs:

- key id: the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key);
- verifier key text: ``name+hex(keyid)+base64(0x01 ‖ pubkey)``;
- signer key text: ``PRIVATE+KEY+name+hex(keyid)+base64(0x01 ‖ seed)``;
- a note: text ending in a newline, a blank line, then lines ``— name base64(keyid ‖ sig)``;
- a checkpoint text: origin line, decimal tree size line, base64 root hash line, extension lines.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sealforge_verify.encoding import b64decode_strict, b64encode

__all__ = [
    "ALG_ED25519",
    "Checkpoint",
    "NamedKey",
    "Note",
    "NoteError",
    "NoteSignature",
    "SignerKey",
    "VerifierKey",
    "compute_key_id",
    "format_signature_line",
    "join_note",
    "parse_checkpoint",
    "parse_key_text",
    "parse_note",
    "parse_signature_line",
    "parse_signer_key",
    "parse_verifier_key",
    "sign_checkpoint",
    "sign_note",
    "signature_line",
    "verify_note",
]

ALG_ED25519 = 0x01
EM_DASH = "\u2014"
MAX_SIGNATURES = 100
_SIG_PREFIX = EM_DASH + " "
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
_HEX8 = re.compile(r"[0-9a-f]{8}")


class NoteError(ValueError):
    """A key, note or checkpoint is malformed, or a signature check failed."""


def check_key_name(name: str) -> None:
    """Key names are non-empty, without whitespace or ``+`` (which separates the text fields)."""
    if not name or "+" in name or any(c.isspace() for c in name) or not name.isprintable():
        raise NoteError(f"invalid key name {name!r}: must be non-empty, without spaces or '+'")


def compute_key_id(name: str, public_key: bytes) -> bytes:
    """C2SP key id of an Ed25519 key: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ pubkey)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class NamedKey:
    """A named Ed25519 public key of a signed-note key type (``ALG``): the type byte goes into the
    key id and the key text, so one key used as a note key and as a witness key has two ids."""

    ALG: ClassVar[int] = ALG_ED25519
    name: str
    public_key: Ed25519PublicKey = field(compare=False)
    raw_public: bytes

    @property
    def key_id(self) -> bytes:
        """SHA-256(name ‖ 0x0A ‖ type ‖ pubkey)[:4]."""
        return hashlib.sha256(self.name.encode("utf-8") + b"\n" + bytes([self.ALG]) + self.raw_public).digest()[:4]

    @property
    def ref(self) -> str:
        """``name+hex(keyid)``: how a bundle's ``key_id.txt``, DSSE ``keyid`` and the witness list name a key."""
        return f"{self.name}+{self.key_id.hex()}"

    @property
    def text(self) -> str:
        """The verifier key text ``name+hex(keyid)+base64(type ‖ pubkey)``: one line of a key file."""
        return f"{self.ref}+{b64encode(bytes([self.ALG]) + self.raw_public)}"


@dataclass(frozen=True)
class VerifierKey(NamedKey):
    """A named Ed25519 public key, as an auditor trusts it."""

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the raw 32-byte Ed25519 public key, in groups of four hex digits: what an
        operator reads out (or prints on paper) so an auditor can confirm a trust file out of band.
        Anyone can recompute it: ``cut -d+ -f3- | base64 -d | tail -c 32 | sha256sum``."""
        digest = hashlib.sha256(self.raw_public).hexdigest()
        return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    @classmethod
    def from_public_key(cls, name: str, public_key: Ed25519PublicKey) -> VerifierKey:
        check_key_name(name)
        return cls(name, public_key, _raw_public(public_key))


@dataclass(frozen=True)
class KeyText:
    """The fields of a signed-note key text ``name+hex(keyid)+base64(type ‖ 32 bytes)``, checked
    for form only: what the key id must be depends on the type, which the caller knows."""

    name: str
    hex_id: str
    key_type: int
    key: bytes

    def check_id(self, key_id: bytes, what: str) -> None:
        if key_id.hex() != self.hex_id:
            raise NoteError(f"{what} id {self.hex_id} does not match the key (expected {key_id.hex()})")


def parse_key_text(text: str, what: str, types: tuple[int, ...], wrong_type: str, private: bool = False) -> KeyText:
    """Split and check a key text, public (``name+keyid+b64``) or ``private`` (``PRIVATE+KEY+``
    before it): one parser for note keys and witness keys, which differ only in the type byte.
    ``what`` names the key in errors; ``wrong_type`` is the error for a type not in ``types``."""
    text, shape = text.strip(), "name+keyid+base64key"
    if private:
        shape = "PRIVATE+KEY+" + shape
        if not text.startswith("PRIVATE+KEY+"):
            raise NoteError(f"{what} must look like {shape}")
        text = text.removeprefix("PRIVATE+KEY+")
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise NoteError(f"{what} must look like {shape}")
    name, hex_id, b64 = parts
    check_key_name(name)
    if not _HEX8.fullmatch(hex_id):
        raise NoteError(f"{what} id must be 8 lowercase hex digits")
    try:
        raw = b64decode_strict(b64)
    except ValueError as exc:
        raise NoteError(f"{what}: {exc}") from None
    if len(raw) != 33 or raw[0] not in types:
        raise NoteError(wrong_type)
    return KeyText(name, hex_id, raw[0], raw[1:])


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse ``name+hex(keyid)+base64(0x01 ‖ pubkey)``, checking that the key id matches."""
    wrong = "verifier key is not an Ed25519 key (0x01 ‖ 32 bytes)"
    fields = parse_key_text(text, "verifier key", (ALG_ED25519,), wrong)
    key = VerifierKey(fields.name, Ed25519PublicKey.from_public_bytes(fields.key), fields.key)
    fields.check_id(key.key_id, "verifier key")
    return key


@dataclass(frozen=True)
class SignerKey:
    """A named Ed25519 private key that signs notes and envelopes."""

    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> SignerKey:
        check_key_name(name)
        return cls(name, Ed25519PrivateKey.generate())

    @property
    def verifier(self) -> VerifierKey:
        return VerifierKey.from_public_key(self.name, self.private_key.public_key())

    @property
    def text(self) -> str:
        """``PRIVATE+KEY+name+hex(keyid)+base64(0x01 ‖ seed)``; keep it secret (mode 0600)."""
        seed = self.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return f"PRIVATE+KEY+{self.verifier.ref}+{b64encode(bytes([ALG_ED25519]) + seed)}"

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


def parse_signer_key(text: str) -> SignerKey:
    """Parse the signer key text written by :attr:`SignerKey.text`."""
    wrong = "signer key is not an Ed25519 key (0x01 ‖ 32 bytes)"
    fields = parse_key_text(text, "signer key", (ALG_ED25519,), wrong, private=True)
    signer = SignerKey(fields.name, Ed25519PrivateKey.from_private_bytes(fields.key))
    fields.check_id(signer.verifier.key_id, "signer key")
    return signer


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True)
class Note:
    """A parsed signed note: the signed ``text`` (ending in a newline) and its signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...]


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if any((ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F for c in text):
        raise NoteError("note text contains control characters")


def format_signature_line(name: str, key_id: bytes, signature: bytes) -> str:
    """One signature line with its newline: ``— name base64(keyid ‖ signature)``. The same shape
    serves note signatures and witnesses' cosignatures, whose signature starts with a timestamp."""
    return f"{_SIG_PREFIX}{name} {b64encode(key_id + signature)}\n"


def signature_line(signature: NoteSignature) -> str:
    """A parsed signature line written back out, as the note held it."""
    return format_signature_line(signature.name, signature.key_id, signature.signature)


def join_note(text: str, lines: Iterable[str]) -> str:
    """A note from its signed ``text`` and signature lines (a missing final newline is added)."""
    return text + "\n" + "".join(line.rstrip("\n") + "\n" for line in lines)


def sign_note(text: str, signers: Iterable[SignerKey]) -> str:
    """Sign ``text`` with each signer and return the full note."""
    _check_text(text)
    lines = [format_signature_line(s.name, s.verifier.key_id, s.sign(text.encode("utf-8"))) for s in signers]
    if not lines:
        raise NoteError("a note needs at least one signer")
    return join_note(text, lines)


def parse_note(data: bytes | str) -> Note:
    """Split a note into its text and signature lines; raises :class:`NoteError` if malformed."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("note is not valid UTF-8") from None
    split = data.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, block = data[: split + 1], data[split + 2 :]
    _check_text(text)
    if not block or not block.endswith("\n"):
        raise NoteError("note signature block is empty or does not end with a newline")
    sigs = [parse_signature_line(line) for line in block[:-1].split("\n")]
    if len(sigs) > MAX_SIGNATURES:
        raise NoteError("note has too many signatures")
    return Note(text, tuple(sigs))


def parse_signature_line(line: str) -> NoteSignature:
    """``— name base64(keyid ‖ signature)`` (no newline), a note's or a witness's."""
    if not line.startswith(_SIG_PREFIX):
        raise NoteError(f"malformed signature line {line[:40]!r}")
    name, sep, b64 = line[len(_SIG_PREFIX) :].partition(" ")
    if not sep:
        raise NoteError("signature line has no signature")
    check_key_name(name)
    try:
        raw = b64decode_strict(b64)
    except ValueError as exc:
        raise NoteError(f"signature for {name}: {exc}") from None
    if len(raw) < 5:
        raise NoteError(f"signature for {name} is too short")
    return NoteSignature(name, raw[:4], raw[4:])


def verify_note(note: Note, keys: Iterable[VerifierKey]) -> list[VerifierKey]:
    """Return the known keys whose signatures verify; raise if none does or any known one fails.

    Signatures by unknown keys are ignored, as C2SP specifies (they may be witnesses).
    """
    known = {(k.name, k.key_id): k for k in keys}
    message = note.text.encode("utf-8")
    good: list[VerifierKey] = []
    for s in note.signatures:
        key = known.get((s.name, s.key_id))
        if key is None:
            continue
        if not key.verify(s.signature, message):
            raise NoteError(f"signature by {key.ref} does not verify")
        good.append(key)
    if not good:
        names = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in note.signatures)
        raise NoteError(f"no signature by a trusted key (note is signed by: {names})")
    return good


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: which log (origin), how many leaves, and their root hash."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """The note text of this checkpoint."""
        lines = [self.origin, str(self.size), b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint's note text (not the signatures)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("checkpoint needs origin, size and root hash lines, each ending in a newline")
    origin, size, root, *ext = lines[:-1]
    if not origin:
        raise NoteError("checkpoint origin is empty")
    if not _DECIMAL.fullmatch(size):
        raise NoteError(f"checkpoint size {size!r} is not a decimal number")
    try:
        root_hash = b64decode_strict(root)
    except ValueError as exc:
        raise NoteError(f"checkpoint root hash: {exc}") from None
    if any(not line for line in ext):
        raise NoteError("checkpoint has an empty extension line")
    return Checkpoint(origin, int(size), root_hash, tuple(ext))


def sign_checkpoint(checkpoint: Checkpoint, signers: Iterable[SignerKey]) -> bytes:
    """Signed note bytes (``checkpoint.txt``) for a checkpoint."""
    return sign_note(checkpoint.body(), signers).encode("utf-8")
