"""in-toto Statement v1 for Sealforge evidence: build it, and check its shape.

Why: the Statement is what a seal attests. Each subject names an artifact with its SHA-256 in the
in-toto digest set and its BLAKE3 in the subject's ``annotations`` (``{"blake3": hex}``, a
ResourceDescriptor field). SHA-256 is what standard consumers (cosign, slsa-verifier, gh
attestation, sigstore-python) match subjects by, and some of them (sigstore-python) refuse any
digest set holding an algorithm they do not know; BLAKE3 is the appliance's blob-store key and is
just as signed in an annotation. Older bundles keep verifying: those sealed before SHA-256 was
added carry ``{"blake3": hex}`` as the digest set, those sealed before BLAKE3 moved to the
annotations carry ``{"sha256": hex, "blake3": hex}``. Wherever it is, the verifier checks every
digest a subject names. Its predicate (type ``https://sealforge.dev/evidence/v1``) holds the
contract, job record, input digests and software versions. The verifier only needs the subjects
to be well formed, so the predicate is checked to be an object and otherwise left to the appliance.

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
    "BLAKE3_ANNOTATION",
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
# The subject annotation that holds the artifact's BLAKE3 hex digest.
BLAKE3_ANNOTATION = "blake3"
MAX_NAME_BYTES = 1024


@dataclass(frozen=True)
class Subject:
    """An artifact as the Statement names it: a relative file name, its BLAKE3 hex digest and
    (in every bundle sealed since SHA-256 was added) its SHA-256 hex digest."""

    name: str
    blake3: str
    sha256: str | None = None

    def digests(self) -> dict[str, str]:
        """Every digest the subject names, by algorithm, SHA-256 first when there is one."""
        out = {"sha256": self.sha256} if self.sha256 is not None else {}
        return out | {"blake3": self.blake3}

    def descriptor(self) -> dict[str, Any]:
        """The subject as an in-toto ResourceDescriptor: SHA-256 in the digest set, BLAKE3 in the
        annotations. Without a SHA-256 BLAKE3 stays in the digest set, which must not be empty."""
        if self.sha256 is None:
            return {"name": self.name, "digest": {"blake3": self.blake3}}
        return {"name": self.name, "digest": {"sha256": self.sha256}, "annotations": {BLAKE3_ANNOTATION: self.blake3}}


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
    BLAKE3 hex digest or the digests ``{"sha256": hex, "blake3": hex}`` (see :meth:`Subject.descriptor`
    for where each goes).

    Subjects are sorted by name so the same inputs always give the same bytes. Raises
    ``ValueError`` if the result would not pass :func:`validate_statement`.
    """
    items = [_subject(n, d) for n, d in subjects.items()] if isinstance(subjects, Mapping) else list(subjects)
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [s.descriptor() for s in sorted(items, key=_by_name)],
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
        problems += [f"subject[{i}]: {why}" for why in _digest_problems(item)]
    return problems


def _digest_problems(item: dict[str, Any]) -> list[str]:
    """A subject's BLAKE3 must be an ``annotations.blake3`` hex string beside a ``digest.sha256``,
    or (older bundles) a ``digest.blake3``; where both name a BLAKE3 they must agree. Every digest
    present must be 64 lowercase hex digits. Other algorithms and annotations are ignored, as the
    in-toto digest-set spec asks of consumers."""
    digest, annotations = item.get("digest"), item.get("annotations", {})
    if not isinstance(digest, dict):
        return ["digest must be an object holding a sha256 (or, in older bundles, blake3) hex string"]
    if not isinstance(annotations, dict):
        return ["annotations must be an object"]
    annotated = f"annotations.{BLAKE3_ANNOTATION}"
    found = {f"digest.{alg}": digest[alg] for alg in ("sha256", "blake3") if alg in digest}
    if BLAKE3_ANNOTATION in annotations:
        found[annotated] = annotations[BLAKE3_ANNOTATION]
    problems = [
        f"{where} digest must be 64 lowercase hex digits"
        for where, value in found.items()
        if not isinstance(value, str) or not _HEX64.fullmatch(value)
    ]
    blake3 = [found[where] for where in ("digest.blake3", annotated) if where in found]
    if not blake3:
        problems.append(f"a blake3 digest is missing ({annotated}, or digest.blake3 in older bundles)")
    elif "sha256" not in digest and "blake3" not in digest:
        problems.append(f"digest must hold sha256 beside {annotated}")
    elif len(blake3) == 2 and blake3[0] != blake3[1] and not problems:
        problems.append(f"digest.blake3 and {annotated} differ")
    return problems


def _blake3_of(item: dict[str, Any]) -> str:
    """The BLAKE3 of a well-formed subject: its annotation, else its digest set's (older bundles)."""
    annotations = item.get("annotations", {})
    return str(annotations[BLAKE3_ANNOTATION] if BLAKE3_ANNOTATION in annotations else item["digest"]["blake3"])


def subjects_of(obj: Any) -> list[Subject]:
    """The well-formed subjects of a Statement, skipping malformed ones (those are shape errors)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("subject"), list):
        return []
    out: list[Subject] = []
    seen: set[str] = set()
    for item in obj["subject"]:
        if not isinstance(item, dict):
            continue
        name = item.get("name")
        if check_subject_name(name) is not None or not isinstance(name, str) or name in seen:
            continue
        if not _digest_problems(item):
            seen.add(name)
            out.append(Subject(name, _blake3_of(item), item["digest"].get("sha256")))
    return out
