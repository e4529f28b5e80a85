"""in-toto Statement v1 for Sealforge evidence: build it, and check its shape.

Why: the Statement is what a seal attests. Its subjects name each artifact with its SHA-256 and
BLAKE3 digests: standard consumers (cosign, slsa-verifier, gh attestation) match subjects by SHA-2
and ignore algorithms they do not know, and the appliance's blob store is keyed by BLAKE3. Bundles
sealed before SHA-256 was added carry ``blake3`` only and still verify. Its predicate (type
``https://sealforge.dev/evidence/v1``) holds the contract, job record, input digests and software
versions. The verifier only needs the subjects to be well formed, so the predicate
is checked to be an object and otherwise left to the appliance.

Subject names double as file names (``artifacts/<name>`` in a bundle, ``DIR/<name>`` next to
it), so they must be safe relative paths: no absolute paths, no ``..``, no backslashes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sealforge_verify.encoding import canonical_json

__all__ = [
    "PAYLOAD_TYPE",
    "PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "Subject",
    "build_statement",
    "check_subject_name",
    "statement_bytes",
    "subjects_of",
    "validate_statement",
]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://sealforge.dev/evidence/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
_HEX64 = re.compile(r"[0-9a-f]{64}")
DIGEST_ALGORITHMS = ("sha256", "blake3")
MAX_NAME_BYTES = 1024


@dataclass(frozen=True)
class Subject:
    """An artifact as the Statement names it: a relative file name, its BLAKE3 hex digest and
    (in every bundle sealed since SHA-256 was added) its SHA-256 hex digest."""

    name: str
    blake3: str
    sha256: str | None = None

    def digests(self) -> dict[str, str]:
        """The in-toto digest set, SHA-256 first when there is one."""
        out = {"sha256": self.sha256} if self.sha256 is not None else {}
        return out | {"blake3": self.blake3}


def check_subject_name(name: object) -> str | None:
    """Return why ``name`` cannot be a subject name, or ``None`` if it is fine."""
    if not isinstance(name, str) or not name:
        return "name must be a non-empty string"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return "name is too long"
    if name.startswith("/") or "\\" in name:
        return "name must be a relative path with '/' separators"
    if any(not c.isprintable() for c in name):
        return "name contains control characters"
    if any(part in ("", ".", "..") for part in name.split("/")):
        return "name must not contain empty, '.' or '..' path segments"
    return None


def build_statement(
    subjects: Iterable[Subject] | Mapping[str, str | Mapping[str, str]],
    predicate: Mapping[str, Any],
    predicate_type: str = PREDICATE_TYPE,
) -> dict[str, Any]:
    """Build a Statement dict; ``subjects`` is ``Subject`` items or a map from name to either a
    BLAKE3 hex digest or a digest set ``{"sha256": hex, "blake3": hex}``.

    Subjects are sorted by name so the same inputs always give the same bytes. Raises
    ``ValueError`` if the result would not pass :func:`validate_statement`.
    """
    items = [_subject(n, d) for n, d in subjects.items()] if isinstance(subjects, Mapping) else list(subjects)
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": s.name, "digest": s.digests()} for s in sorted(items, key=_by_name)],
        "predicateType": predicate_type,
        "predicate": dict(predicate),
    }
    problems = validate_statement(statement)
    if problems:
        raise ValueError("; ".join(problems))
    return statement


def _subject(name: str, digest: str | Mapping[str, str]) -> Subject:
    if isinstance(digest, str):
        return Subject(name, digest)
    return Subject(name, digest.get("blake3", ""), digest.get("sha256"))


def _by_name(s: Subject) -> str:
    return s.name


def statement_bytes(statement: Mapping[str, Any]) -> bytes:
    """Canonical JSON of a Statement: the DSSE payload."""
    return canonical_json(statement)


def validate_statement(obj: Any) -> list[str]:
    """All shape problems of a Sealforge Statement (empty list when it is well formed)."""
    if not isinstance(obj, dict):
        return ["statement must be a JSON object"]
    problems: list[str] = []
    if obj.get("_type") != STATEMENT_TYPE:
        problems.append(f"_type must be {STATEMENT_TYPE!r}, got {obj.get('_type')!r}")
    if obj.get("predicateType") != PREDICATE_TYPE:
        problems.append(f"predicateType must be {PREDICATE_TYPE!r}, got {obj.get('predicateType')!r}")
    if not isinstance(obj.get("predicate"), dict):
        problems.append("predicate must be a JSON object")
    subjects = obj.get("subject")
    if not isinstance(subjects, list) or not subjects:
        problems.append("subject must be a non-empty list")
        return problems
    seen: set[str] = set()
    for i, item in enumerate(subjects):
        if not isinstance(item, dict):
            problems.append(f"subject[{i}] must be an object")
            continue
        name = item.get("name")
        why = check_subject_name(name)
        if why:
            problems.append(f"subject[{i}]: {why}")
        elif name in seen:
            problems.append(f"subject[{i}]: duplicate name {name!r}")
        else:
            seen.add(name)  # type: ignore[arg-type]
        problems += [f"subject[{i}]: {why}" for why in _digest_problems(item.get("digest"))]
    return problems


def _digest_problems(digest: Any) -> list[str]:
    """A digest set must hold a ``blake3`` hex string; a ``sha256``, when present, must be well
    formed too. Other algorithms are ignored, as the in-toto digest-set spec asks of consumers."""
    if not isinstance(digest, dict) or not isinstance(digest.get("blake3"), str):
        return ["digest must hold a blake3 hex string"]
    problems = []
    for algorithm in DIGEST_ALGORITHMS:
        value = digest.get(algorithm)
        if value is None and algorithm == "sha256":
            continue
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            problems.append(f"{algorithm} digest must be 64 lowercase hex digits")
    return problems


def subjects_of(obj: Any) -> list[Subject]:
    """The well-formed subjects of a Statement, skipping malformed ones (those are shape errors)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("subject"), list):
        return []
    out: list[Subject] = []
    seen: set[str] = set()
    for item in obj["subject"]:
        if not isinstance(item, dict):
            continue
        name, digest = item.get("name"), item.get("digest")
        if check_subject_name(name) is not None or not isinstance(name, str) or name in seen:
            continue
        if not _digest_problems(digest):
            assert isinstance(digest, dict)
            seen.add(name)
            out.append(Subject(name, digest["blake3"], digest.get("sha256")))
    return out
