"""Run every check on a bundle and return a report; never stop at the first failure.

Why: an auditor needs the whole picture (a bad artifact and a good signature say something
different from a bad signature), so each check runs on its own and reports what it saw. Checks,
in report order: ``bundle_format``, ``trusted_key``, ``dsse_signature``, ``statement_shape``,
``artifact_digest:<name>`` (one per subject), ``inclusion_proof``, ``checkpoint_signature`` and
``consistency``. Only an unreadable bundle (not a tar, truncated, required member missing) raises
:class:`~sealforge_verify.bundle.BundleFormatError` instead of returning a report.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from sealforge_verify.bundle import ARTIFACT_PREFIX, Bundle, read_bundle
from sealforge_verify.consistency import Logged, consistency_check
from sealforge_verify.cosignature import WitnessKey
from sealforge_verify.dsse import Envelope, EnvelopeError, parse_envelope, verify_envelope
from sealforge_verify.encoding import parse_json_object
from sealforge_verify.hashing import (
    blake3_file,
    blake3_range,
    blake3_stream,
    sha256_file,
    sha256_range,
    sha256_stream,
)
from sealforge_verify.merkle import Hasher, ProofError, declared_tree_hash, get_hasher, verify_inclusion
from sealforge_verify.note import (
    Checkpoint,
    NoteError,
    VerifierKey,
    parse_checkpoint,
    parse_note,
    verify_note,
)
from sealforge_verify.proofs import InclusionProof
from sealforge_verify.quorum import witnesses_check
from sealforge_verify.report import FAIL, PASS, SKIP, Check, Report
from sealforge_verify.statement import PAYLOAD_TYPE, PREDICATE_TYPE, Subject, subjects_of, validate_statement

__all__ = ["verify_bundle", "verify_opened"]

_KEY_REF = re.compile(r"([^\s+]+)\+([0-9a-f]{8})\n?")


def verify_bundle(
    source: str | os.PathLike[str] | BinaryIO | Bundle,
    trusted_keys: Sequence[VerifierKey],
    *,
    artifacts_dir: str | os.PathLike[str] | None = None,
    prev_checkpoint: bytes | None = None,
    consistency_proof: bytes | None = None,
    label: str | None = None,
    require_artifacts: bool = False,
    witnesses: Sequence[WitnessKey] = (),
    min_witnesses: int | None = None,
) -> Report:
    """Verify a bundle (path, open tar file, or :class:`Bundle`) against ``trusted_keys``.

    ``artifacts_dir`` holds artifacts by subject name; ``prev_checkpoint`` is the text of a signed
    checkpoint the auditor kept, older or newer than the bundle's; ``consistency_proof`` is a
    consistency-proof JSON from the appliance (between the two checkpoints' sizes, smaller first),
    used instead of (or besides) the bundle's ``consistency.json``. With ``require_artifacts`` an
    artifact with no copy to check fails instead of being skipped. With ``witnesses`` (or
    ``min_witnesses``) a ``witnesses`` check counts their cosignatures on the bundle's checkpoint.
    """
    name = label or (os.fspath(source) if isinstance(source, str | os.PathLike) else "<bundle>")
    if isinstance(source, Bundle):
        return verify_opened(
            source,
            trusted_keys,
            artifacts_dir,
            prev_checkpoint,
            consistency_proof,
            name,
            require_artifacts,
            witnesses=witnesses,
            min_witnesses=min_witnesses,
        )
    with read_bundle(source) as bundle:
        return verify_opened(
            bundle,
            trusted_keys,
            artifacts_dir,
            prev_checkpoint,
            consistency_proof,
            name,
            require_artifacts,
            witnesses=witnesses,
            min_witnesses=min_witnesses,
        )


def verify_opened(
    bundle: Bundle,
    trusted_keys: Sequence[VerifierKey],
    artifacts_dir: str | os.PathLike[str] | None = None,
    prev_checkpoint: bytes | None = None,
    consistency_proof: bytes | None = None,
    label: str = "<bundle>",
    require_artifacts: bool = False,
    *,
    witnesses: Sequence[WitnessKey] = (),
    min_witnesses: int | None = None,
) -> Report:
    """Run all checks on an already opened bundle."""
    checks: list[Check] = []
    signer, check = _trusted_key(bundle, trusted_keys)
    checks.append(check)
    envelope, check = _dsse_signature(bundle, signer)
    checks.append(check)
    statement, check = _statement_shape(envelope)
    checks.append(check)
    subjects = subjects_of(statement)
    for subject in subjects:
        checks.append(_artifact_digest(bundle, subject, artifacts_dir, require_artifacts))
    checkpoint, cp_detail = _read_checkpoint(bundle.checkpoint, trusted_keys)
    hasher, check = _inclusion_proof(bundle, checkpoint)
    checks.append(check)
    checks.append(Check("checkpoint_signature", PASS if cp_detail[0] else FAIL, cp_detail[1]))
    logged = Logged(checkpoint if cp_detail[0] else None, hasher)
    checks.append(consistency_check(bundle, trusted_keys, logged, prev_checkpoint, consistency_proof))
    if witnesses or min_witnesses is not None:
        checks.append(witnesses_check(bundle.checkpoint, witnesses, min_witnesses))
    listed = {s.name for s in subjects}
    problems = list(bundle.problems)
    if statement is not None:
        problems += [
            f"artifact member {ARTIFACT_PREFIX}{n!r} is not a subject of the statement"
            for n in sorted(bundle.artifacts)
            if n not in listed
        ]
    checks.insert(0, _bundle_format(bundle, problems))
    return Report(label, checks)


def _bundle_format(bundle: Bundle, problems: list[str]) -> Check:
    if problems:
        return Check("bundle_format", FAIL, "; ".join(problems))
    parts = sorted(bundle.members)
    if bundle.artifacts:
        parts.append(f"{len(bundle.artifacts)} artifact(s)")
    return Check("bundle_format", PASS, "tar holds " + ", ".join(parts))


def _trusted_key(bundle: Bundle, trusted: Sequence[VerifierKey]) -> tuple[VerifierKey | None, Check]:
    try:
        text = bundle.key_id.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    match = _KEY_REF.fullmatch(text)
    if not match:
        return None, Check("trusted_key", FAIL, "key_id.txt is malformed (expected one line name+hex8)")
    ref = text.rstrip("\n")
    for key in trusted:
        if key.ref == ref:
            return key, Check(
                "trusted_key",
                PASS,
                f"bundle is signed by {ref} (fingerprint {key.fingerprint}), which the trust file lists",
            )
    listed = ", ".join(k.ref for k in trusted)
    return None, Check(
        "trusted_key",
        FAIL,
        f"bundle names signing key {ref}, which is NOT in the trust file (trusted: {listed})",
    )


def _dsse_signature(bundle: Bundle, signer: VerifierKey | None) -> tuple[Envelope | None, Check]:
    try:
        envelope = parse_envelope(bundle.envelope)
    except EnvelopeError as exc:
        return None, Check("dsse_signature", FAIL, f"envelope.json: {exc}")
    if signer is None:
        return envelope, Check("dsse_signature", FAIL, "not verified: the bundle's signing key is not trusted")
    try:
        verify_envelope(envelope, signer.public_key, keyids=(signer.ref,))
    except EnvelopeError as exc:
        return envelope, Check("dsse_signature", FAIL, f"signature by {signer.ref} does not verify: {exc}")
    return envelope, Check(
        "dsse_signature",
        PASS,
        f"Ed25519 signature by {signer.ref} verifies over the {envelope.payload_type} payload",
    )


def _statement_shape(envelope: Envelope | None) -> tuple[dict[str, Any] | None, Check]:
    if envelope is None:
        return None, Check("statement_shape", FAIL, "no statement: envelope.json is unreadable")
    try:
        statement = parse_json_object(envelope.payload, "statement payload")
    except ValueError as exc:
        return None, Check("statement_shape", FAIL, str(exc))
    problems = validate_statement(statement)
    if envelope.payload_type != PAYLOAD_TYPE:
        problems.insert(0, f"payloadType must be {PAYLOAD_TYPE!r}, got {envelope.payload_type!r}")
    if problems:
        return statement, Check("statement_shape", FAIL, "; ".join(problems))
    count = len(statement["subject"])
    return statement, Check(
        "statement_shape", PASS, f"in-toto Statement v1, predicate {PREDICATE_TYPE}, {count} subject(s)"
    )


def _artifact_digest(
    bundle: Bundle, subject: Subject, artifacts_dir: str | os.PathLike[str] | None, required: bool
) -> Check:
    """Every copy of the artifact (in the bundle, in ``artifacts_dir``) must match every digest the
    subject names: SHA-256 from its digest set, BLAKE3 from its annotation (from its digest set in
    older bundles); bundles sealed before SHA-256 was added name BLAKE3 only."""
    name, want = subject.name, subject.digests()
    check_name = f"artifact_digest:{name}"
    copies: list[tuple[str, dict[str, str] | None]] = []  # (where, digests or None when unreadable)
    if name in bundle.artifacts:
        copies.append((f"bundle copy ({bundle.artifacts[name]} bytes)", _bundle_copy_digests(bundle, name, want)))
    if artifacts_dir is not None:
        path = Path(artifacts_dir) / name
        if path.is_file():
            try:
                copies.append((f"file {path}", _file_digests(path, want)))
            except OSError as exc:
                copies.append((f"file {path} (unreadable: {exc.strerror or exc})", None))
    if not copies:
        where = "in the bundle or in --artifacts DIR" if artifacts_dir is not None else "in the bundle (no --artifacts)"
        if required:
            return Check(check_name, FAIL, f"NOT CHECKED, and --require-artifacts is given: no copy {where}")
        return Check(check_name, SKIP, f"NOT CHECKED: no copy of this artifact {where}")
    said = ", ".join(f"{alg} {hexd}" for alg, hexd in want.items())
    bad = []
    for where, got in copies:
        if got is None:
            bad.append(where)
            continue
        wrong = [f"{alg} {got[alg]}" for alg in want if got[alg] != want[alg]]
        if wrong:
            bad.append(f"{where} has " + ", ".join(wrong))
    if bad:
        return Check(check_name, FAIL, f"MISMATCH: statement says {said}; " + "; ".join(bad))
    verb = "match" if len(want) > 1 else "matches"
    return Check(check_name, PASS, f"{said} {verb} " + " and ".join(where for where, _ in copies))


def _bundle_copy_digests(bundle: Bundle, name: str, want: dict[str, str]) -> dict[str, str]:
    location = bundle.artifact_location(name)
    got: dict[str, str] = {}
    if location is not None:
        got["blake3"] = blake3_range(*location)
        if "sha256" in want:
            got["sha256"] = sha256_range(*location)
        return got
    with bundle.open_artifact(name) as stream:
        got["blake3"] = blake3_stream(stream)
    if "sha256" in want:
        with bundle.open_artifact(name) as stream:
            got["sha256"] = sha256_stream(stream)
    return got


def _file_digests(path: Path, want: dict[str, str]) -> dict[str, str]:
    got = {"blake3": blake3_file(path)}
    if "sha256" in want:
        got["sha256"] = sha256_file(path)
    return got


def _read_checkpoint(data: bytes, trusted: Sequence[VerifierKey]) -> tuple[Checkpoint | None, tuple[bool, str]]:
    """Parse the bundle's checkpoint, and say whether a trusted key signed it (and why not)."""
    try:
        note = parse_note(data)
        checkpoint = parse_checkpoint(note.text)
    except NoteError as exc:
        return None, (False, f"checkpoint.txt is malformed: {exc}")
    try:
        keys = verify_note(note, trusted)
    except NoteError as exc:
        return checkpoint, (False, str(exc))
    refs = ", ".join(k.ref for k in keys)
    return checkpoint, (
        True,
        f"checkpoint of {checkpoint.origin!r} at size {checkpoint.size} is signed by {refs}",
    )


def _log_hasher(declared: str, checkpoint: Checkpoint, source: str) -> Hasher | str:
    """The tree hash of the log, from the proof's declaration and the checkpoint's (if it makes
    one, in its signed text, they must agree); a string says why no hasher applies."""
    in_checkpoint = declared_tree_hash(checkpoint.extensions)
    if in_checkpoint is not None and in_checkpoint != declared:
        return f"{source} says the tree hash is {declared}, the signed checkpoint says {in_checkpoint}"
    try:
        return get_hasher(declared)
    except ValueError as exc:
        return f"{source}: {exc}"


def _inclusion_proof(bundle: Bundle, checkpoint: Checkpoint | None) -> tuple[Hasher | None, Check]:
    """The inclusion check, and the log's tree hash it established (``None`` if it could not)."""
    try:
        proof = InclusionProof.from_json_bytes(bundle.inclusion)
    except ValueError as exc:
        return None, Check("inclusion_proof", FAIL, f"inclusion.json: {exc}")
    if checkpoint is None:
        return None, Check("inclusion_proof", FAIL, "no root to check against: checkpoint.txt is malformed")
    hasher = _log_hasher(proof.hash, checkpoint, "inclusion.json")
    if isinstance(hasher, str):
        return None, Check("inclusion_proof", FAIL, hasher)
    if proof.tree_size != checkpoint.size:
        return hasher, Check(
            "inclusion_proof",
            FAIL,
            f"proof is for tree size {proof.tree_size}, checkpoint is size {checkpoint.size}",
        )
    leaf = hasher.leaf(bundle.envelope)
    try:
        verify_inclusion(hasher, proof.leaf_index, proof.tree_size, leaf, proof.hashes, checkpoint.root_hash)
    except ProofError as exc:
        return hasher, Check("inclusion_proof", FAIL, f"envelope is NOT proven in the log: {exc}")
    return hasher, Check(
        "inclusion_proof",
        PASS,
        f"envelope is leaf {proof.leaf_index} of {proof.tree_size} (leaf hash {leaf.hex()[:16]}…, "
        f"{hasher.name} tree), its path leads to the checkpoint root",
    )
