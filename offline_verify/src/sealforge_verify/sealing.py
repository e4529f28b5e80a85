"""Writer-side glue for the appliance: from a Statement and a key to a complete bundle.

Why: the appliance and the verifier must agree byte for byte on what is signed, what becomes the
seal-log leaf and what a checkpoint says. Keeping the writer next to the verifier means there is
one definition of each, and the tests check that what is written verifies.

The appliance's flow for one job:

1. ``statement = build_statement({name: {"sha256": sha256_file(path), "blake3": blake3_file(path)}}, predicate)``
2. ``envelope = seal_statement(statement, signer)`` → the bytes to store and to log
3. append ``log_leaf_hash(envelope)`` to the stored leaf hashes
4. ``checkpoint = make_checkpoint(origin, tree, signer)`` after the append
5. ``build_bundle(path, envelope=..., tree=..., leaf_index=..., checkpoint=..., signer=...)``
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, BinaryIO

from sealforge_verify.bundle import Source, write_bundle
from sealforge_verify.dsse import sign_envelope
from sealforge_verify.merkle import BLAKE3, Hasher, MerkleTree, checkpoint_extensions
from sealforge_verify.note import Checkpoint, SignerKey, sign_checkpoint
from sealforge_verify.proofs import ConsistencyProof, InclusionProof
from sealforge_verify.statement import PAYLOAD_TYPE, statement_bytes

__all__ = ["build_bundle", "log_leaf_hash", "make_checkpoint", "seal_statement"]


def seal_statement(statement: Mapping[str, Any], signer: SignerKey) -> bytes:
    """Sign a Statement in a DSSE envelope; returns ``envelope.json`` bytes (canonical JSON).

    The signature's ``keyid`` is the signer's ``name+hex(keyid)``, the same text as ``key_id.txt``.
    """
    env = sign_envelope(PAYLOAD_TYPE, statement_bytes(statement), signer.private_key, signer.verifier.ref)
    return env.to_json_bytes()


def log_leaf_hash(envelope: bytes, hasher: Hasher = BLAKE3) -> bytes:
    """The seal-log leaf hash of an envelope: H(0x00 ‖ envelope bytes), with the log's tree hash
    (SHA-256 for logs made since issue #18; the default is BLAKE3, what older logs hash with)."""
    return hasher.leaf(envelope)


def make_checkpoint(origin: str, tree: MerkleTree, signer: SignerKey, size: int | None = None) -> bytes:
    """Signed checkpoint (``checkpoint.txt`` bytes) for the first ``size`` leaves (default: all)."""
    n = len(tree) if size is None else size
    return sign_checkpoint(Checkpoint(origin, n, tree.root(n), checkpoint_extensions(tree.hasher)), [signer])


def build_bundle(
    dest: str | os.PathLike[str] | BinaryIO,
    *,
    envelope: bytes,
    tree: MerkleTree,
    leaf_index: int,
    checkpoint: bytes,
    signer: SignerKey,
    tree_size: int | None = None,
    artifacts: Mapping[str, Source] | None = None,
    consistency_from: int | None = None,
) -> None:
    """Write a bundle for the envelope at ``leaf_index`` against a checkpoint of ``tree_size``.

    ``checkpoint`` must be for ``tree_size`` leaves of ``tree`` (default: all of it). With
    ``consistency_from``, the bundle also carries a consistency proof from that older size, so
    an auditor who kept a checkpoint of that size can check the log did not fork.
    """
    size = len(tree) if tree_size is None else tree_size
    if tree.leaf_hash(leaf_index) != log_leaf_hash(envelope, tree.hasher):
        raise ValueError(f"leaf {leaf_index} of the tree is not this envelope")
    inclusion = InclusionProof(leaf_index, size, tuple(tree.inclusion_proof(leaf_index, size)), tree.hasher.name)
    consistency = None
    if consistency_from is not None:
        proof = tree.consistency_proof(consistency_from, size)
        consistency = ConsistencyProof(consistency_from, size, tuple(proof), tree.hasher.name)
    write_bundle(
        dest,
        envelope=envelope,
        inclusion=inclusion,
        checkpoint=checkpoint,
        key_id=signer.verifier.ref,
        artifacts=artifacts,
        consistency=consistency,
    )
