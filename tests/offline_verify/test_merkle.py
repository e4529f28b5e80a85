"""Tree building and proof generation agree with verification and with a naive MTH."""

from __future__ import annotations

import pytest
from sealforge_verify.merkle import (
    BLAKE3,
    SHA256,
    Hasher,
    MerkleTree,
    ProofError,
    consistency_proof,
    get_hasher,
    inclusion_proof,
    root_hash,
    verify_consistency,
    verify_inclusion,
)


def naive_mth(hasher: Hasher, leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 §2.1.1, over leaf hashes."""
    if not leaves:
        return hasher.empty_root()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hasher.node(naive_mth(hasher, leaves[:k]), naive_mth(hasher, leaves[k:]))


@pytest.mark.parametrize("hasher", [SHA256, BLAKE3], ids=lambda h: h.name)
def test_generated_proofs_verify_for_every_small_tree(hasher: Hasher) -> None:
    leaves = [hasher.leaf(bytes([i])) for i in range(20)]
    tree = MerkleTree(leaves, hasher)
    for size in range(1, 21):
        root = tree.root(size)
        assert root == naive_mth(hasher, leaves[:size])
        for index in range(size):
            verify_inclusion(hasher, index, size, leaves[index], tree.inclusion_proof(index, size), root)
        for old in range(1, size + 1):
            proof = tree.consistency_proof(old, size)
            verify_consistency(hasher, old, size, proof, tree.root(old), root)


def test_empty_tree_root_is_hash_of_nothing() -> None:
    assert MerkleTree([], SHA256).root().hex() == ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert root_hash([]) == BLAKE3.digest(b"")


def test_rfc_leaf_and_node_prefixes() -> None:
    import hashlib

    assert SHA256.leaf(b"x") == hashlib.sha256(b"\x00x").digest()
    assert SHA256.node(b"l", b"r") == hashlib.sha256(b"\x01lr").digest()


def test_append_keeps_old_roots_and_matches_fresh_tree() -> None:
    tree = MerkleTree()
    roots = []
    for i in range(40):
        tree.append_data(b"leaf %d" % i)
        roots.append(tree.root())
    fresh = MerkleTree([tree.leaf_hash(i) for i in range(40)])
    assert [fresh.root(n) for n in range(1, 41)] == roots


def test_wrong_leaf_or_root_fails() -> None:
    leaves = [BLAKE3.leaf(b"%d" % i) for i in range(7)]
    proof = inclusion_proof(3, leaves)
    root = root_hash(leaves)
    with pytest.raises(ProofError):
        verify_inclusion(BLAKE3, 3, 7, leaves[4], proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(BLAKE3, 2, 7, leaves[3], proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(BLAKE3, 3, 7, leaves[3], proof[:-1], root)
    forked = list(leaves)
    forked[1] = BLAKE3.leaf(b"forged")
    with pytest.raises(ProofError):
        verify_consistency(BLAKE3, 4, 7, consistency_proof(4, leaves), root_hash(forked[:4]), root)


def test_bad_arguments_are_refused() -> None:
    tree = MerkleTree([BLAKE3.leaf(b"a")])
    with pytest.raises(ValueError):
        tree.inclusion_proof(1)
    with pytest.raises(ValueError):
        tree.consistency_proof(0)
    with pytest.raises(ValueError):
        tree.append(b"short")
    with pytest.raises(ValueError):
        tree.root(2)
    with pytest.raises(ValueError):
        get_hasher("md5")


def test_ten_thousand_leaves() -> None:
    """Proofs over a large tree verify, from the list functions and from the tree. How fast
    this is belongs to bench/verify.py (its `merkle` line), not to a wall-clock assertion here."""
    leaves = [BLAKE3.leaf(i.to_bytes(4, "big")) for i in range(10_000)]
    root = root_hash(leaves)
    proof = inclusion_proof(7_777, leaves)
    cproof = consistency_proof(6_000, leaves)
    verify_inclusion(BLAKE3, 7_777, 10_000, leaves[7_777], proof, root)
    verify_consistency(BLAKE3, 6_000, 10_000, cproof, root_hash(leaves[:6_000]), root)
    tree = MerkleTree(leaves)
    assert tree.root() == root
    for i in range(0, 10_000, 100):
        verify_inclusion(BLAKE3, i, 10_000, leaves[i], tree.inclusion_proof(i), root)
    assert tree.inclusion_proof(7_777) == proof
