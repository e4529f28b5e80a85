"""An offline witness: cosign a log's checkpoint only if it extends the last one this witness cosigned.

Why: a cosignature is worth something only if the witness refuses to sign two views of one log.
The witness keeps, per log origin, the size and root it last cosigned in a small JSON state file,
and before it signs a new checkpoint it checks, in this order:

1. the log's own signature, by a key in the auditor's trust file;
2. against the state: a smaller size is a rollback, the same size with another root is a fork
   (both refused); a larger size needs a consistency proof from the old size to the new one
   (``GET /v1/seals/proof/consistency?from=OLD&to=NEW``) that links the two roots, with the tree
   hash the log used before (the first proof, or the checkpoint's declaration, pins it);
3. only then it signs, writes the new state (temp file + rename, so a crash leaves the old state
   whole) and hands back the cosigned checkpoint.

The first checkpoint of an origin the witness has never seen is trusted on first use and says so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealforge_verify.cosignature import WitnessSigner, cosign, cosignature_line
from sealforge_verify.encoding import b64decode_strict, b64encode, canonical_json
from sealforge_verify.files import atomic_open
from sealforge_verify.merkle import ProofError, declared_tree_hash, verify_consistency
from sealforge_verify.note import Checkpoint, NoteError, VerifierKey, parse_checkpoint, parse_note, verify_note
from sealforge_verify.proofs import ConsistencyProof

__all__ = ["STATE_FORMAT", "Cosigned", "LogView", "StateError", "WitnessRefusal", "load_state", "witness"]

STATE_FORMAT = "sealforge-witness-state/1"


class WitnessRefusal(Exception):
    """The witness will not cosign: the reason is for the auditor to read (exit status 1)."""


class StateError(ValueError):
    """The state file cannot be read or is not a witness state (exit status 2: nothing was signed)."""


@dataclass(frozen=True)
class LogView:
    """What the witness last cosigned for one log."""

    size: int
    root: bytes
    hash: str | None
    cosigned_at: int

    def to_dict(self) -> dict[str, Any]:
        return {"cosigned_at": self.cosigned_at, "hash": self.hash, "root": b64encode(self.root), "size": self.size}


@dataclass(frozen=True)
class Cosigned:
    """The outcome of a cosign: the whole note with the cosignature, the line alone, and how the
    new checkpoint relates to what the witness had seen."""

    note: str
    line: str
    checkpoint: Checkpoint
    relation: str


def load_state(path: str | os.PathLike[str]) -> dict[str, LogView]:
    """The views by origin; a missing file is an empty state (a new witness)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StateError(f"cannot read {os.fspath(path)}: {exc.strerror or exc}") from None
    try:
        obj = json.loads(data)
        if not isinstance(obj, dict) or obj.get("format") != STATE_FORMAT or not isinstance(obj.get("logs"), dict):
            raise ValueError(f"not a witness state file (format {STATE_FORMAT!r})")
        return {origin: _view(entry) for origin, entry in obj["logs"].items()}
    except (ValueError, TypeError, KeyError) as exc:
        raise StateError(f"{os.fspath(path)}: {exc}") from None


def _view(entry: dict[str, Any]) -> LogView:
    size, at, hash_name = entry["size"], entry["cosigned_at"], entry.get("hash")
    if (
        type(size) is not int
        or size < 0
        or type(at) is not int
        or not (hash_name is None or isinstance(hash_name, str))
    ):
        raise ValueError("a log entry needs an integer size and cosigned_at")
    return LogView(size, b64decode_strict(entry["root"]), hash_name, at)


def _save_state(path: str | os.PathLike[str], views: dict[str, LogView]) -> None:
    doc = {"format": STATE_FORMAT, "logs": {origin: view.to_dict() for origin, view in sorted(views.items())}}
    with atomic_open(path, 0o600) as fh:
        fh.write(canonical_json(doc) + b"\n")


def witness(
    checkpoint_note: bytes,
    log_keys: Sequence[VerifierKey],
    signer: WitnessSigner,
    state_path: str | os.PathLike[str],
    proof: bytes | None,
    now: int,
) -> Cosigned:
    """Check the checkpoint against the log key and the state, cosign it and record it.

    Raises :class:`WitnessRefusal` (nothing signed, state untouched) when it must not be cosigned,
    :class:`StateError` when the state file is unusable.
    """
    try:
        note = parse_note(checkpoint_note)
        checkpoint = parse_checkpoint(note.text)
    except NoteError as exc:
        raise WitnessRefusal(f"the checkpoint is malformed: {exc}") from None
    try:
        verify_note(note, log_keys)
    except NoteError as exc:
        raise WitnessRefusal(f"the checkpoint's log signature does not verify: {exc}") from None
    views = load_state(state_path)
    previous = views.get(checkpoint.origin)
    relation, hash_name = _check_growth(checkpoint, previous, proof)
    views[checkpoint.origin] = LogView(checkpoint.size, checkpoint.root_hash, hash_name, now)
    result = Cosigned(cosign(note, signer, now), cosignature_line(signer, note.text, now), checkpoint, relation)
    _save_state(state_path, views)
    return result


def _check_growth(new: Checkpoint, old: LogView | None, proof: bytes | None) -> tuple[str, str | None]:
    """How ``new`` relates to the last cosigned view (a sentence) and the tree hash to pin;
    raises :class:`WitnessRefusal` for a rollback, a fork, or growth without a valid proof."""
    origin, declared = new.origin, declared_tree_hash(new.extensions)
    if old is None:
        return f"first checkpoint of {origin!r} this witness has seen (trusted on first use)", declared
    if new.size < old.size:
        raise WitnessRefusal(
            f"ROLLBACK: {origin!r} is at size {new.size}, but this witness already cosigned size {old.size}"
        )
    if new.size == old.size:
        if new.root_hash != old.root:
            raise WitnessRefusal(
                f"LOG FORKED: {origin!r} at size {new.size} has root {b64encode(new.root_hash)}, but this witness "
                f"cosigned root {b64encode(old.root)} at that size; the log shows different histories"
            )
        return f"same size {new.size} and root as last cosigned", old.hash
    if old.size == 0:
        return f"grew from the empty tree to {new.size}", old.hash
    fetch = f"GET /v1/seals/proof/consistency?from={old.size}&to={new.size}"
    if proof is None:
        raise WitnessRefusal(
            f"{origin!r} grew from {old.size} (last cosigned) to {new.size}: a consistency proof is needed; "
            f"fetch {fetch} and pass it with --proof FILE"
        )
    try:
        parsed = ConsistencyProof.from_json_bytes(proof)
    except ValueError as exc:
        raise WitnessRefusal(f"the consistency proof is malformed: {exc}") from None
    if (parsed.from_size, parsed.to_size) != (old.size, new.size):
        raise WitnessRefusal(
            f"the consistency proof is from size {parsed.from_size} to {parsed.to_size}, "
            f"but {old.size} to {new.size} is needed ({fetch})"
        )
    for expected in (old.hash, declared):
        if expected is not None and parsed.hash != expected:
            raise WitnessRefusal(f"the consistency proof uses {parsed.hash}, but this log's tree hash is {expected}")
    try:
        verify_consistency(parsed.hasher, old.size, new.size, parsed.hashes, old.root, new.root_hash)
    except ProofError as exc:
        raise WitnessRefusal(
            f"NOT CONSISTENT: {origin!r} at size {new.size} does not extend the size-{old.size} tree this witness "
            f"cosigned ({exc}); the log may have been forked or rewritten"
        ) from None
    return f"grew from {old.size} to {new.size} leaves (consistency proof verified)", parsed.hash
