"""The seal log: an append-only RFC 9162 Merkle tree (BLAKE3) with a signed checkpoint per append.

Why a frontier: the head row keeps the roots of the perfect subtrees that make up the tree (one per
set bit of its size, largest first). Appending a leaf merges it with the equal-sized subtrees on
the right, exactly like a binary counter, and the new root folds the frontier from the right:
O(log n) hashes per append, and the older leaves are never read. Proofs need the leaves, so they
are built from the stored leaf hashes with :class:`sealforge_verify.MerkleTree`, and the root they
give is checked against the signed checkpoint before anything is served.

The origin line is ``sealforge.local/seal-log/<appliance id>``; the appliance id is 8 random hex
digits chosen when the log head is first written, and never changes.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from sealforge_verify import (
    BLAKE3,
    Checkpoint,
    ConsistencyProof,
    InclusionProof,
    MerkleTree,
    SignerKey,
    sign_checkpoint,
)

from appliance import errors
from appliance.clock import now_iso
from appliance.errors import AppError
from appliance.store import seals as seals_store

ORIGIN_PREFIX = "sealforge.local/seal-log/"
HASH_SIZE = BLAKE3.digest_size


@dataclass(frozen=True)
class Appended:
    """Where a new leaf went, and the checkpoint published for the tree that now holds it."""

    leaf_index: int
    tree_size: int
    root: bytes
    note: bytes


def ensure_head(conn: sqlite3.Connection) -> dict[str, Any]:
    """The log head, created (empty, with a fresh appliance id) on first use. Needs a write transaction."""
    head = seals_store.log_head(conn)
    if head is None:
        appliance_id = secrets.token_hex(4)
        seals_store.insert_log_head(conn, appliance_id, ORIGIN_PREFIX + appliance_id, BLAKE3.empty_root(), now_iso())
        head = seals_store.log_head(conn)
        assert head is not None
    return head


def split_frontier(blob: bytes) -> list[bytes]:
    return [bytes(blob[i : i + HASH_SIZE]) for i in range(0, len(blob), HASH_SIZE)]


def push(frontier: list[bytes], size: int, leaf: bytes) -> list[bytes]:
    """The frontier of a tree of ``size`` leaves after appending ``leaf`` (a leaf hash)."""
    out = list(frontier)
    node, n = leaf, size
    while n & 1:
        node = BLAKE3.node(out.pop(), node)
        n >>= 1
    out.append(node)
    return out


def fold(frontier: list[bytes]) -> bytes:
    """RFC 9162 root from the frontier: the left subtree is always the largest perfect one."""
    if not frontier:
        return BLAKE3.empty_root()
    root = frontier[-1]
    for left in reversed(frontier[:-1]):
        root = BLAKE3.node(left, root)
    return root


def append(conn: sqlite3.Connection, leaf: bytes, signer: SignerKey) -> Appended:
    """Add a leaf hash and publish the signed checkpoint; the caller holds the write transaction.

    The caller stores the leaf itself (in its seal row, at the returned index) in the same
    transaction, so a leaf, its seal and its checkpoint are committed together or not at all.
    """
    if not conn.in_transaction:
        raise RuntimeError("seal_log.append needs the caller's write transaction")
    head = ensure_head(conn)
    size = int(head["tree_size"])
    frontier = push(split_frontier(head["frontier"]), size, leaf)
    root = fold(frontier)
    note = sign_checkpoint(Checkpoint(head["origin"], size + 1, root), [signer])
    at = now_iso()
    seals_store.update_log_head(conn, size, size + 1, b"".join(frontier), root, at)
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


def tree(conn: sqlite3.Connection, size: int) -> MerkleTree:
    """The tree of the first ``size`` leaves, checked against the signed checkpoint of that size.

    A mismatch means the stored leaves were altered after they were signed; serving proofs from
    them would only mislead an auditor, so it is an error.
    """
    hashes = seals_store.leaf_hashes(conn, size)
    built = MerkleTree(hashes)
    signed = seals_store.checkpoint_at(conn, size)
    if len(hashes) != size or signed is None or built.root() != bytes(signed["root"]):
        raise AppError(
            errors.UNAVAILABLE,
            f"the seal log's stored leaves do not reproduce its signed checkpoint at size {size}",
            hint="The database was altered. Keep a copy of the state dir and tell your administrator.",
        )
    return built


def inclusion(built: MerkleTree, leaf_index: int, size: int) -> InclusionProof:
    return InclusionProof(leaf_index, size, tuple(built.inclusion_proof(leaf_index, size)), BLAKE3.name)


def consistency(built: MerkleTree, from_size: int, to_size: int) -> ConsistencyProof:
    return ConsistencyProof(from_size, to_size, tuple(built.consistency_proof(from_size, to_size)), BLAKE3.name)
