"""The ``consistency`` check: are the bundle's checkpoint and the one the auditor kept views of one log?

Why its own module: it is the one check that looks beyond the bundle (a checkpoint kept from an
earlier audit, a proof fetched separately), and it needs the log's tree hash, which the inclusion
check established from the bundle's declaration (:mod:`sealforge_verify.merkle`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sealforge_verify.bundle import Bundle
from sealforge_verify.merkle import Hasher, ProofError, declared_tree_hash, verify_consistency
from sealforge_verify.note import Checkpoint, NoteError, VerifierKey, parse_checkpoint, parse_note, verify_note
from sealforge_verify.proofs import ConsistencyProof
from sealforge_verify.report import FAIL, PASS, SKIP, Check

__all__ = ["Logged", "consistency_check"]


@dataclass(frozen=True)
class Logged:
    """The bundle's checkpoint once its signature verified, and the log's tree hash."""

    checkpoint: Checkpoint | None
    hasher: Hasher | None


_CONSISTENCY = "consistency"


def consistency_check(
    bundle: Bundle,
    trusted: Sequence[VerifierKey],
    logged: Logged,
    kept_checkpoint: bytes | None,
    consistency_proof: bytes | None,
) -> Check:
    """Whether the bundle's checkpoint and the one the auditor kept are views of one log.

    The kept checkpoint may be older (the log must have only grown since) or newer (the bundle's
    tree must be a prefix of the kept one, so the seal is in the tree the auditor kept too). Either
    way a consistency proof from the smaller size to the larger one decides it."""
    if kept_checkpoint is None:
        return Check(_CONSISTENCY, SKIP, "not checked: no --prev-checkpoint given")
    try:
        note = parse_note(kept_checkpoint)
        kept = parse_checkpoint(note.text)
        verify_note(note, trusted)
    except NoteError as exc:
        return Check(_CONSISTENCY, FAIL, f"kept checkpoint: {exc}")
    bundle_cp, hasher = logged.checkpoint, logged.hasher
    if bundle_cp is None:
        return Check(_CONSISTENCY, FAIL, "the bundle's checkpoint is not verified, so nothing to compare with")
    if hasher is None:
        return Check(_CONSISTENCY, FAIL, "the log's tree hash is not established (see inclusion_proof)")
    in_kept = declared_tree_hash(kept.extensions)
    if in_kept is not None and in_kept != hasher.name:
        return Check(
            _CONSISTENCY, FAIL, f"kept checkpoint declares tree hash {in_kept}, the bundle's log {hasher.name}"
        )
    verdict = _compare_checkpoints(kept, bundle_cp)
    if verdict is not None:
        return verdict
    if kept.size < bundle_cp.size:
        growth = _Growth(kept, bundle_cp, "your kept checkpoint", "the bundle's")
    else:
        growth = _Growth(bundle_cp, kept, "the bundle's checkpoint", "your kept one")
    candidates = [("--consistency-proof", consistency_proof), ("consistency.json", bundle.consistency)]
    return _proven_growth(growth, hasher, candidates)


@dataclass(frozen=True)
class _Growth:
    """Two checkpoints of one log, smaller first, and how the report names each."""

    old: Checkpoint
    new: Checkpoint
    old_name: str
    new_name: str


def _compare_checkpoints(kept: Checkpoint, ours: Checkpoint) -> Check | None:
    """The verdict when the two checkpoints alone decide it (other log, empty kept one, same size);
    ``None`` when the sizes differ and a consistency proof must link them."""
    if kept.origin != ours.origin:
        return Check(_CONSISTENCY, FAIL, f"kept checkpoint is of log {kept.origin!r}, the bundle's of {ours.origin!r}")
    if kept.size == 0:
        return Check(_CONSISTENCY, FAIL, "kept checkpoint is of an empty log: consistency with it proves nothing")
    if kept.size == ours.size:
        if kept.root_hash == ours.root_hash:
            return Check(_CONSISTENCY, PASS, f"same tree size {kept.size} and same root as the kept checkpoint")
        return Check(_CONSISTENCY, FAIL, f"LOG FORKED: both checkpoints have size {kept.size} but different roots")
    return None


def _proven_growth(growth: _Growth, hasher: Hasher, candidates: list[tuple[str, bytes | None]]) -> Check:
    """Check the first usable proof among ``(source, data)`` candidates; FAIL with what was found
    (and where to get a proof) when none is usable."""
    old, new = growth.old, growth.new
    found: list[str] = []
    for source, data in candidates:
        if data is None:
            continue
        proof = _usable_proof(source, data, old, new, hasher)
        if isinstance(proof, str):
            found.append(proof)
            continue
        try:
            verify_consistency(hasher, old.size, new.size, proof.hashes, old.root_hash, new.root_hash)
        except ProofError as exc:
            return Check(
                _CONSISTENCY, FAIL, f"NOT consistent ({source}): {exc}; the log may have been forked or rewritten"
            )
        return Check(
            _CONSISTENCY,
            PASS,
            f"log grew from {old.size} to {new.size} leaves without changing history "
            f"({growth.old_name} to {growth.new_name}; proof: {source})",
        )
    hint = (
        f"no consistency proof from size {old.size} ({growth.old_name}) to {new.size} ({growth.new_name})"
        " is available"
        + (f" ({'; '.join(found)})" if found else "")
        + f"; fetch GET /v1/seals/proof/consistency?from={old.size}&to={new.size} and pass it with"
        " --consistency-proof FILE"
    )
    return Check(_CONSISTENCY, FAIL, hint)


def _usable_proof(source: str, data: bytes, old: Checkpoint, new: Checkpoint, hasher: Hasher) -> ConsistencyProof | str:
    """The parsed proof when it is a proof in the log's tree hash between the two sizes, else why
    it is not usable."""
    try:
        proof = ConsistencyProof.from_json_bytes(data)
    except ValueError as exc:
        return f"{source} is malformed: {exc}"
    if (proof.from_size, proof.to_size) != (old.size, new.size):
        return f"{source} is from size {proof.from_size} to {proof.to_size}"
    if proof.hash != hasher.name:
        return f"{source} uses {proof.hash}, the log hashes with {hasher.name}"
    return proof
