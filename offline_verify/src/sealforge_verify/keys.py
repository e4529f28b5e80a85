"""Trust files for auditors, and key generation and storage for the appliance.

Why: an auditor decides which appliance keys to believe. A trust file is plain text, one C2SP
verifier key per line, with ``#`` comments and blank lines allowed, so it can hold several keys
(old and new during a key rotation) and be reviewed by eye. The appliance uses the same module to
create its key and to print the line an auditor should add.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from sealforge_verify.files import atomic_open
from sealforge_verify.note import NoteError, SignerKey, VerifierKey, parse_signer_key, parse_verifier_key

__all__ = [
    "TrustFileError",
    "format_trust_file",
    "generate_signer",
    "load_signer",
    "load_trust_file",
    "parse_trust_file",
    "save_signer",
]


class TrustFileError(ValueError):
    """The trust file cannot be read or has a bad line (the message gives the line number)."""


K = TypeVar("K")


def parse_key_lines(text: str, parse: Callable[[str], K], what: str, error: type[ValueError] = NoteError) -> list[K]:
    """The keys of a key file's text (a trust file, a witnesses' vkey file), in file order, without
    duplicates. A line is one key, or blank, or a comment starting with ``#``; a key line may carry
    a trailing comment after whitespace. A file with no key is an error: it could trust nothing.
    Problems raise ``error`` naming the line; ``what`` names one key in messages."""
    keys: list[K] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        token, *rest = line.split()
        if rest and not rest[0].startswith("#"):
            raise error(f"line {number}: expected one {what}, found extra text")
        try:
            key = parse(token)
        except NoteError as exc:
            raise error(f"line {number}: {exc}") from None
        if key not in keys:
            keys.append(key)
    if not keys:
        raise error(f"the file holds no {what}")
    return keys


def parse_trust_file(text: str) -> list[VerifierKey]:
    """Parse trust file text into verifier keys (see :func:`parse_key_lines`)."""
    return parse_key_lines(text, parse_verifier_key, "verifier key", TrustFileError)


def load_trust_file(path: str | os.PathLike[str]) -> list[VerifierKey]:
    """Read and parse a trust file; any problem is a :class:`TrustFileError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TrustFileError(f"cannot read trust file {os.fspath(path)}: {exc}") from None
    return parse_trust_file(text)


def format_trust_file(keys: Iterable[VerifierKey], comment: str = "", fingerprints: bool = False) -> str:
    """Trust file text for ``keys``, with an optional leading comment; with ``fingerprints`` each
    key line follows a comment giving its SHA-256 fingerprint, to compare with the one handed over."""
    head = "".join(f"# {line}\n" for line in comment.splitlines())
    lines = []
    for k in keys:
        if fingerprints:
            lines.append(f"# {k.name} fingerprint (SHA-256): {k.fingerprint}\n")
        lines.append(k.text + "\n")
    return head + "".join(lines)


def generate_signer(name: str) -> SignerKey:
    """A new Ed25519 signing key called ``name`` (for instance the appliance's host name)."""
    return SignerKey.generate(name)


def save_signer(signer: SignerKey, path: str | os.PathLike[str]) -> None:
    """Write the signer key text to ``path`` with mode 0600, atomically (temp file + rename)."""
    with atomic_open(path, 0o600) as fh:
        fh.write((signer.text + "\n").encode("utf-8"))


def load_signer(path: str | os.PathLike[str]) -> SignerKey:
    """Read a signer key written by :func:`save_signer`."""
    return parse_signer_key(Path(path).read_text(encoding="utf-8"))
