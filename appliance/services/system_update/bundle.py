"""The update bundle: its format, and the check that runs before anything of it is written.

A bundle (``sealforge-<SERIAL>.sfbundle``) is an uncompressed ustar tar whose members come in one
fixed order: ``bundle.json`` (canonical JSON: format, serial, version, root hash, and the size and
SHA-256 of each payload member), ``bundle.json.sig`` (the raw Ed25519 signature over bundle.json's
exact bytes, base64 on one line, by the release key), then the payload: the Secure-Boot-signed UKI
``sealforge.efi``, ``root.squashfs`` and its dm-verity tree ``root.verity``.

The check reads the bundle once, front to back, in bounded memory (a root is about 1 GB), so the API
can run it on the upload as it arrives: the signature is checked before any payload byte is read,
the declared sizes against the slot sizes before hashing, then every member's SHA-256 and size.
There is no certificate, expiry or timestamp: a signature is valid at any date, so a box whose
clock drifted (air-gapped clocks do) checks a bundle exactly as a box with the right time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance import errors
from appliance.errors import AppError

FORMAT = "sealforge-bundle/1"
DOCUMENT, SIGNATURE = "bundle.json", "bundle.json.sig"
UKI, ROOT, VERITY = "sealforge.efi", "root.squashfs", "root.verity"
PAYLOAD = (UKI, ROOT, VERITY)
MEMBERS = (DOCUMENT, SIGNATURE, *PAYLOAD)
SUFFIX = ".sfbundle"
BLOCK = 512
CHUNK = 1 << 20
MAX_DOCUMENT = 64 * 1024  # bundle.json is a few hundred bytes; anything larger is not one
MAX_SIGNATURE = 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def invalid(message: str) -> AppError:
    return AppError(errors.UPDATE_BUNDLE_INVALID, message)


def canonical(doc: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces: the exact bytes the release key signs."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def file_name(serial: int) -> str:
    return f"sealforge-{serial}{SUFFIX}"


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The release public key (PEM, as manifest.py writes manifest.pub). FileNotFoundError when absent."""
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key")
    return key


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    sha256: str
    offset: int
    """Where the member's data starts in the bundle file: the write phase reads it again from there."""


@dataclass(frozen=True)
class Bundle:
    serial: int
    version: str
    roothash: str
    members: dict[str, Member]
    document: bytes

    def as_dict(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "version": self.version,
            "roothash": self.roothash,
            "files": {m.name: {"size": m.size, "sha256": m.sha256} for m in self.members.values()},
        }


class Readable(Protocol):
    """What the check reads from: a file, a request body, or the API's copy-as-you-read wrapper."""

    def read(self, n: int = -1, /) -> bytes: ...


class _Reader:
    """Reads a stream front to back and counts where it is; a short read is a truncated bundle."""

    def __init__(self, stream: Readable) -> None:
        self.stream = stream
        self.pos = 0

    def exact(self, size: int, what: str) -> bytes:
        parts = []
        left = size
        while left:
            chunk = self.stream.read(min(left, CHUNK))
            if not chunk:
                raise invalid(f"the bundle ends inside {what} (truncated)")
            parts.append(chunk)
            left -= len(chunk)
        self.pos += size
        return b"".join(parts)

    def chunks(self, size: int, what: str) -> Iterator[bytes]:
        left = size
        while left:
            chunk = self.stream.read(min(left, CHUNK))
            if not chunk:
                raise invalid(f"the bundle ends inside {what} (truncated)")
            self.pos += len(chunk)
            left -= len(chunk)
            yield chunk

    def pad(self, size: int, what: str) -> None:
        self.exact(-size % BLOCK, what)


def _header(block: bytes, expected: str) -> int:
    """The size of a ustar header's regular-file member named ``expected``; anything else is refused."""
    if block == bytes(BLOCK):
        raise invalid(f"the bundle ends before {expected} (a member is missing)")
    stored = block[148:156].strip(b" \0")
    summed = sum(block[:148]) + 8 * 32 + sum(block[156:])
    if not stored or not re.fullmatch(rb"[0-7]+", stored) or int(stored, 8) != summed:
        raise invalid("not a tar file (a header's checksum does not match)")
    if block[257:263] != b"ustar\0":
        raise invalid("not a POSIX ustar tar")
    name = block[0:100].split(b"\0", 1)[0].decode("utf-8", "replace")
    if block[345:500].strip(b"\0") or name != expected:
        raise invalid(f"member {name!r} where {expected} belongs (members: {', '.join(MEMBERS)}, in that order)")
    if block[156:157] not in (b"0", b"\0"):
        raise invalid(f"{name}: not a regular file")
    size_field = block[124:136].strip(b" \0")
    if not re.fullmatch(rb"[0-7]+", size_field):
        raise invalid(f"{name}: size field is not octal")
    return int(size_field, 8)


def _small_member(reader: _Reader, name: str, limit: int) -> bytes:
    size = _header(reader.exact(BLOCK, f"the header of {name}"), name)
    if size > limit:
        raise invalid(f"{name} is {size} bytes; at most {limit}")
    data = reader.exact(size, name)
    reader.pad(size, name)
    return data


def _verify_signature(document: bytes, signature: bytes, key: Ed25519PublicKey) -> None:
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"{SIGNATURE} is not one line of base64") from None
    try:
        key.verify(raw, document)
    except InvalidSignature:
        raise invalid(f"{SIGNATURE} does not verify with the release key: not a release of this site") from None


def _parse(document: bytes) -> dict[str, Any]:
    """The signed document, checked field by field (it is trusted once signed, but never guessed at)."""
    try:
        doc = json.loads(document)
    except (UnicodeDecodeError, ValueError):
        raise invalid(f"{DOCUMENT} is not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise invalid(f"{DOCUMENT}: format is not {FORMAT!r}")
    if set(doc) != {"format", "serial", "version", "roothash", "files"}:
        raise invalid(f"{DOCUMENT}: fields are not format, serial, version, roothash, files")
    serial, version, roothash, files = doc["serial"], doc["version"], doc["roothash"], doc["files"]
    if not isinstance(serial, int) or isinstance(serial, bool) or serial <= 0:
        raise invalid(f"{DOCUMENT}: serial is not a positive integer")
    if not isinstance(version, str) or not 0 < len(version) <= 200:
        raise invalid(f"{DOCUMENT}: version is not a short string")
    if not isinstance(roothash, str) or not _HEX64.match(roothash):
        raise invalid(f"{DOCUMENT}: roothash is not 64 lower-case hex digits")
    if not isinstance(files, dict) or set(files) != set(PAYLOAD):
        raise invalid(f"{DOCUMENT}: files must name exactly {', '.join(PAYLOAD)}")
    for name, entry in files.items():
        size = entry.get("size") if isinstance(entry, dict) else None
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise invalid(f"{DOCUMENT}: {name} has no size")
        if not isinstance(digest, str) or not _HEX64.match(digest):
            raise invalid(f"{DOCUMENT}: {name} has no sha256")
    return doc


def read(
    stream: Readable,
    key: Ed25519PublicKey,
    *,
    limits: Mapping[str, int] | None = None,
    check: Callable[[dict[str, Any]], None] | None = None,
) -> Bundle:
    """Check a whole bundle from ``stream``: the signature first, then ``check(doc)`` (the caller's
    serial rule), the declared sizes against ``limits`` (name -> most bytes, e.g. the slot sizes),
    then each payload member's SHA-256 and size, then that nothing follows. Raises
    ``UPDATE_BUNDLE_INVALID`` (or what ``check`` raises) at the first fault; reads nothing after it."""
    reader = _Reader(stream)
    document = _small_member(reader, DOCUMENT, MAX_DOCUMENT)
    signature = _small_member(reader, SIGNATURE, MAX_SIGNATURE)
    _verify_signature(document, signature, key)
    doc = _parse(document)
    if check is not None:
        check(doc)
    for name, most in (limits or {}).items():
        size = int(doc["files"][name]["size"])
        if size > most:
            raise invalid(f"{name} is {size} bytes and does not fit its slot of {most} bytes")
    members = {}
    for name in PAYLOAD:
        want = doc["files"][name]
        size = _header(reader.exact(BLOCK, f"the header of {name}"), name)
        if size != want["size"]:
            raise invalid(f"{name} is {size} bytes; {DOCUMENT} says {want['size']}")
        offset = reader.pos
        digest = hashlib.sha256()
        for chunk in reader.chunks(size, name):
            digest.update(chunk)
        if digest.hexdigest() != want["sha256"]:
            raise invalid(f"{name}: sha256 differs from {DOCUMENT}")
        reader.pad(size, name)
        members[name] = Member(name, size, want["sha256"], offset)
    end = reader.exact(BLOCK, "the end-of-archive block")
    if end != bytes(BLOCK):
        raise invalid(f"a member follows {VERITY} (members: {', '.join(MEMBERS)}, nothing else)")
    return Bundle(doc["serial"], doc["version"], doc["roothash"], members, document)


def verify_file(
    path: Path,
    key: Ed25519PublicKey,
    *,
    limits: Mapping[str, int] | None = None,
    check: Callable[[dict[str, Any]], None] | None = None,
) -> Bundle:
    with path.open("rb") as f:
        return read(f, key, limits=limits, check=check)


def member_chunks(f: BinaryIO, member: Member) -> Iterator[bytes]:
    """A member's bytes read again from the bundle file, hashed as they go: the last step raises when
    they are not the bytes the check saw (the file changed between check and write)."""
    f.seek(member.offset)
    digest = hashlib.sha256()
    left = member.size
    while left:
        chunk = f.read(min(left, CHUNK))
        if not chunk:
            raise invalid(f"{member.name}: the bundle file is shorter than when it was checked")
        digest.update(chunk)
        left -= len(chunk)
        yield chunk
    if digest.hexdigest() != member.sha256:
        raise invalid(f"{member.name}: the bytes written differ from the bytes checked (the bundle changed)")


def serial_rule(running_serial: int | None, allow_downgrade: bool) -> Callable[[dict[str, Any]], None]:
    """Anti-downgrade: a bundle whose serial is not above the running one is refused unless allowed."""

    def check(doc: dict[str, Any]) -> None:
        if running_serial is not None and doc["serial"] <= running_serial and not allow_downgrade:
            raise AppError(
                errors.UPDATE_NOT_NEWER,
                f"the bundle's serial {doc['serial']} is not newer than the running {running_serial}",
            )

    return check
