"""The seal log: an append-only RFC 9162 Merkle tree with a signed checkpoint per append.

The tree hash is the log's own, recorded in its head row when the log is created: SHA-256 (RFC
6962/9162, what C2SP tlog-checkpoint defines and standard witnesses verify) for every log created
since issue #18, BLAKE3 for the logs created before, which keep it (docs/decisions.md). BLAKE3
checkpoints say so in an extension line; SHA-256 ones are plain standard checkpoints.

Why a frontier: the head row keeps the roots of the perfect subtrees that make up the tree (one per
set bit of its size, largest first). Appending a leaf merges it with the equal-sized subtrees on
the right, exactly like a binary counter, and the new root folds the frontier from the right:
O(log n) hashes per append, and the older leaves are never read. The merge passes through every
height, so the roots of newly completed tiles fall out of it: each append adds its leaf hash to a
level-0 tlog-tile row, and a completed tile's root to the row above (:mod:`.tiles`). Proofs are
computed from those rows, and the root they give is checked against the signed checkpoint before
anything is served.

The origin line is ``sealforge.local/seal-log/<appliance id>``; the appliance id is 8 random hex
digits chosen when the log head is first written, and never changes.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from sealforge_verify import Checkpoint, ConsistencyProof, InclusionProof, SignerKey, sign_checkpoint
from sealforge_verify.merkle import SHA256, Hasher, checkpoint_extensions, get_hasher

from appliance import errors
from appliance.clock import now_iso
from appliance.errors import AppError
from appliance.evidence.tiles import TILE_HEIGHT, TILE_WIDTH, TileTree
from appliance.store import seals as seals_store

ORIGIN_PREFIX = "sealforge.local/seal-log/"
HASH_SIZE = 32
NEW_LOG_HASH = SHA256
"""The tree hash of a log created now (RFC 6962/9162). Older logs keep the one they declared."""


@dataclass(frozen=True)
class Appended:
    """Where a new leaf went, and the checkpoint published for the tree that now holds it."""

    leaf_index: int
    tree_size: int
    root: bytes
    note: bytes


def ensure_head(conn: sqlite3.Connection, tree_hash: Hasher = NEW_LOG_HASH) -> dict[str, Any]:
    """The log head, created on first use (empty, with a fresh appliance id, hashing with
    ``tree_hash``; an existing log keeps its own). Needs a write transaction."""
    head = seals_store.log_head(conn)
    if head is None:
        appliance_id = secrets.token_hex(4)
        origin = ORIGIN_PREFIX + appliance_id
        seals_store.insert_log_head(conn, appliance_id, origin, tree_hash.name, tree_hash.empty_root(), now_iso())
        head = seals_store.log_head(conn)
        assert head is not None
    return head


def hasher_of(head: dict[str, Any]) -> Hasher:
    """The tree hash the log declared when it was created."""
    return get_hasher(head["tree_hash"])


def split_frontier(blob: bytes) -> list[bytes]:
    return [bytes(blob[i : i + HASH_SIZE]) for i in range(0, len(blob), HASH_SIZE)]


def push(
    frontier: list[bytes], size: int, leaf: bytes, hasher: Hasher, completed: list[tuple[int, bytes]] | None = None
) -> list[bytes]:
    """The frontier of a tree of ``size`` leaves after appending ``leaf`` (a leaf hash).

    ``completed`` (if given) receives ``(height, hash)`` of every perfect subtree the append
    completes at a height that is a multiple of 8, the leaf itself first: the hashes that go into
    tlog-tile rows."""
    out = list(frontier)
    node, n, height = leaf, size, 0
    if completed is not None:
        completed.append((0, leaf))
    while n & 1:
        node = hasher.node(out.pop(), node)
        n >>= 1
        height += 1
        if completed is not None and height % TILE_HEIGHT == 0:
            completed.append((height, node))
    out.append(node)
    return out


def fold(frontier: list[bytes], hasher: Hasher) -> bytes:
    """RFC 9162 root from the frontier: the left subtree is always the largest perfect one."""
    if not frontier:
        return hasher.empty_root()
    root = frontier[-1]
    for left in reversed(frontier[:-1]):
        root = hasher.node(left, root)
    return root


def _write_tiles(conn: sqlite3.Connection, new_size: int, completed: list[tuple[int, bytes]]) -> None:
    """Append each completed subtree hash to its tile row: the one of height ``8 * l`` is hash
    number ``(new_size >> 8l) - 1`` of level ``l``."""
    for height, value in completed:
        j = (new_size >> height) - 1
        seals_store.append_tile_hash(conn, height // TILE_HEIGHT, j // TILE_WIDTH, j % TILE_WIDTH, value)


def append(conn: sqlite3.Connection, leaf: bytes, signer: SignerKey) -> Appended:
    """Add a leaf hash and publish the signed checkpoint; the caller holds the write transaction.

    The caller stores the leaf itself (in its seal row, at the returned index) in the same
    transaction, so a leaf, its seal and its checkpoint are committed together or not at all.
    """
    if not conn.in_transaction:
        raise RuntimeError("seal_log.append needs the caller's write transaction")
    head = ensure_head(conn)
    hasher = hasher_of(head)
    size = int(head["tree_size"])
    completed: list[tuple[int, bytes]] = []
    frontier = push(split_frontier(head["frontier"]), size, leaf, hasher, completed)
    root = fold(frontier, hasher)
    note = sign_checkpoint(Checkpoint(head["origin"], size + 1, root, checkpoint_extensions(hasher)), [signer])
    at = now_iso()
    seals_store.update_log_head(conn, size, size + 1, b"".join(frontier), root, at)
    _write_tiles(conn, size + 1, completed)
    seals_store.insert_checkpoint(
        conn,
        {
            "tree_size": size + 1,
            "root": root,
            "note": note.decode("utf-8"),
            "signing_key_id": signer.verifier.ref,
            "created_at": at,
        },
    )
    return Appended(size, size + 1, root, note)


def require_checkpoint(conn: sqlite3.Connection) -> dict[str, Any]:
    checkpoint = seals_store.latest_checkpoint(conn)
    if checkpoint is None:
        raise AppError(
            errors.NOT_FOUND,
            "the seal log is empty: no checkpoint has been published yet",
            hint="A checkpoint is published when the first job succeeds and is sealed.",
        )
    return checkpoint


def tree(conn: sqlite3.Connection, size: int) -> TileTree:
    """The tree of the first ``size`` leaves, from the tiles, checked against the signed checkpoint
    of that size.

    A mismatch means the stored tiles were altered after they were signed; serving proofs from
    them would only mislead an auditor, so it is an error.
    """
    head = seals_store.log_head(conn)
    signed = seals_store.checkpoint_at(conn, size)
    if head is None or signed is None or int(head["tree_size"]) < size:
        raise AppError(errors.NOT_FOUND, f"the seal log has no checkpoint at size {size}")
    built = TileTree(conn, hasher_of(head), size)
    if built.root() != bytes(signed["root"]):
        raise AppError(
            errors.UNAVAILABLE,
            f"the seal log's stored tiles do not reproduce its signed checkpoint at size {size}",
            hint="The database was altered. Keep a copy of the state dir and tell your administrator.",
        )
    return built


def inclusion(built: TileTree, leaf_index: int, size: int) -> InclusionProof:
    return InclusionProof(leaf_index, size, tuple(built.inclusion_proof(leaf_index, size)), built.hasher.name)


def consistency(built: TileTree, from_size: int, to_size: int) -> ConsistencyProof:
    return ConsistencyProof(from_size, to_size, tuple(built.consistency_proof(from_size, to_size)), built.hasher.name)
