"""RFC 9162 Merkle tree: hashing, inclusion and consistency proofs, and their verification.

Why: the seal log is an append-only Merkle tree hashed like Certificate Transparency v2 (RFC 9162
§2.1). Logs created since issue #18 hash with SHA-256, exactly as RFC 6962/9162 and C2SP
tlog-checkpoint define the root, so standard witnesses and monitors verify them; logs created
before hash with BLAKE3 and keep doing so. The hash is pluggable and always *declared* (the log's
state, the proof documents' ``hash`` field, and for BLAKE3 logs a checkpoint extension line, see
:func:`checkpoint_extensions`), never guessed from the data.

The writer side (:class:`MerkleTree` and the ``*_proof`` functions) works from leaf hashes, which
is what the appliance stores; the verifier side (``verify_*``) follows the RFC algorithms step by
step and never needs the leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import blake3

__all__ = [
    "BLAKE3",
    "HASHERS",
    "SHA256",
    "TREE_HASH_EXTENSION",
    "Hasher",
    "MerkleTree",
    "ProofError",
    "SubtreeHash",
    "audit_path",
    "checkpoint_extensions",
    "consistency_path",
    "consistency_proof",
    "declared_tree_hash",
    "get_hasher",
    "inclusion_proof",
    "leaf_hash",
    "root_from_inclusion_proof",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]


class ProofError(ValueError):
    """A proof does not verify, or its inputs are out of range."""


@dataclass(frozen=True)
class Hasher:
    """One hash function plus the RFC 9162 domain separation of leaves (0x00) and nodes (0x01)."""

    name: str
    digest_size: int
    digest: Callable[[bytes], bytes]

    def leaf(self, data: bytes) -> bytes:
        """Hash of a leaf: H(0x00 ‖ data)."""
        return self.digest(b"\x00" + data)

    def node(self, left: bytes, right: bytes) -> bytes:
        """Hash of an interior node: H(0x01 ‖ left ‖ right)."""
        return self.digest(b"\x01" + left + right)

    def empty_root(self) -> bytes:
        """Root of the empty tree: H() of no input."""
        return self.digest(b"")


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _blake3(data: bytes) -> bytes:
    return blake3.blake3(data).digest()


SHA256 = Hasher("sha256", 32, _sha256)
BLAKE3 = Hasher("blake3", 32, _blake3)
HASHERS: dict[str, Hasher] = {h.name: h for h in (SHA256, BLAKE3)}


def get_hasher(name: str) -> Hasher:
    """Look up a hasher by its name in bundles and proofs (``"blake3"`` or ``"sha256"``)."""
    try:
        return HASHERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unsupported tree hash {name!r} (known: {', '.join(HASHERS)})") from None


TREE_HASH_EXTENSION = "sealforge-tree-hash "
"""Start of the checkpoint extension line by which a non-SHA-256 log declares its tree hash.

C2SP tlog-checkpoint defines the root as an RFC 6962 (SHA-256) tree and does not recommend
extension lines, so a SHA-256 log's checkpoints carry none and stay exactly standard. Only a log
that hashes otherwise (the BLAKE3 logs made before issue #18) says so, inside the signed text."""


def checkpoint_extensions(hasher: Hasher) -> tuple[str, ...]:
    """Extension lines a checkpoint of a log hashed with ``hasher`` carries: none for SHA-256."""
    return () if hasher.name == SHA256.name else (TREE_HASH_EXTENSION + hasher.name,)


def declared_tree_hash(extensions: Iterable[str]) -> str | None:
    """The tree hash a checkpoint's extension lines declare, or ``None`` when they declare none.

    ``None`` means the C2SP default (SHA-256), or a BLAKE3 checkpoint signed before logs declared
    their hash; the proof's own ``hash`` field then decides, and only the right hash can lead to the
    signed root, so a wrong declaration there can only make a proof fail, never pass."""
    for line in extensions:
        if line.startswith(TREE_HASH_EXTENSION):
            return line[len(TREE_HASH_EXTENSION) :]
    return None


def _split(n: int) -> int:
    """Largest power of two strictly below ``n`` (n > 1): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


SubtreeHash = Callable[[int, int], bytes]
"""``MTH(D[start:end])`` for the ranges the RFC 9162 recursion visits (``start`` is always a
multiple of the range's largest power-of-two part). A tree held in memory and the appliance's
stored tiles both provide one, and share the proof recursion below."""


def audit_path(subtree: SubtreeHash, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, from a subtree-hash provider."""
    out: list[bytes] = []
    start, end, m = 0, size, index
    right: list[bytes] = []
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            right.append(subtree(start + k, end))
            end = start + k
        else:
            right.append(subtree(start, start + k))
            start, m = start + k, m - k
    out.extend(reversed(right))
    return out


def consistency_path(subtree: SubtreeHash, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 9162 §2.1.4.1 (``0 < old_size <= new_size``)."""
    if old_size == new_size:
        return []
    hashes: list[bytes] = []
    start, end, m, whole = 0, new_size, old_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            hashes.append(subtree(start + k, end))
            end = start + k
        else:
            hashes.append(subtree(start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        hashes.append(subtree(start, end))
    return list(reversed(hashes))


class MerkleTree:
    """Leaf hashes plus a memo of subtree hashes, for computing roots and proofs.

    Every subtree the RFC recursion visits is aligned (its start is a multiple of its largest
    power-of-two part), and a complete power-of-two subtree never changes once its leaves exist.
    Those hashes are cached, so appending leaves keeps earlier work valid and a root or proof
    costs O(log n) after the first O(n) pass. Build one per request if memory matters; the cache
    holds at most one entry per interior node.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = (), hasher: Hasher = BLAKE3) -> None:
        self.hasher = hasher
        self._leaves: list[bytes] = []
        self._cache: dict[tuple[int, int], bytes] = {}
        for h in leaf_hashes:
            self.append(h)

    def __len__(self) -> int:
        return len(self._leaves)

    def append(self, leaf_hash: bytes) -> int:
        """Add a leaf by its hash; returns the new leaf's index."""
        if not isinstance(leaf_hash, bytes | bytearray) or len(leaf_hash) != self.hasher.digest_size:
            raise ValueError(f"leaf hash must be {self.hasher.digest_size} bytes")
        self._leaves.append(bytes(leaf_hash))
        return len(self._leaves) - 1

    def append_data(self, data: bytes) -> int:
        """Add a leaf by its data (hashed with the 0x00 prefix); returns its index."""
        return self.append(self.hasher.leaf(data))

    def leaf_hash(self, index: int) -> bytes:
        return self._leaves[index]

    def _size(self, size: int | None) -> int:
        n = len(self._leaves) if size is None else size
        if not 0 <= n <= len(self._leaves):
            raise ValueError(f"tree size {n} out of range 0..{len(self._leaves)}")
        return n

    def _subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for an aligned range, memoised for complete subtrees."""
        n = end - start
        if n == 1:
            return self._leaves[start]
        complete = n & (n - 1) == 0
        if complete:
            cached = self._cache.get((start, n))
            if cached is not None:
                return cached
        k = _split(n)
        value = self.hasher.node(self._subtree(start, start + k), self._subtree(start + k, end))
        if complete:
            self._cache[(start, n)] = value
        return value

    def root(self, size: int | None = None) -> bytes:
        """Root hash of the first ``size`` leaves (default: all)."""
        n = self._size(size)
        return self.hasher.empty_root() if n == 0 else self._subtree(0, n)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Audit path for leaf ``index`` in the tree of the first ``size`` leaves (RFC 9162 §2.1.3.1)."""
        n = self._size(size)
        if not 0 <= index < n:
            raise ValueError(f"leaf index {index} out of range for tree size {n}")
        return audit_path(self._subtree, index, n)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Proof that the tree of ``old_size`` leaves is a prefix of ``new_size`` (RFC 9162 §2.1.4.1).

        An empty old tree is refused: every tree extends it, so such a proof proves nothing.
        """
        n = self._size(new_size)
        if not 0 < old_size <= n:
            raise ValueError(f"old size {old_size} must be in 1..{n}")
        return consistency_path(self._subtree, old_size, n)


def leaf_hash(data: bytes, hasher: Hasher = BLAKE3) -> bytes:
    """Leaf hash of ``data`` (for the seal log: the exact bytes of ``envelope.json``)."""
    return hasher.leaf(data)


def root_hash(leaf_hashes: Sequence[bytes], hasher: Hasher = BLAKE3) -> bytes:
    """Root of the tree whose leaves have these hashes."""
    return MerkleTree(leaf_hashes, hasher).root()


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes], hasher: Hasher = BLAKE3) -> list[bytes]:
    """Inclusion proof of leaf ``index`` in the tree of all ``leaf_hashes``."""
    return MerkleTree(leaf_hashes, hasher).inclusion_proof(index)


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes], hasher: Hasher = BLAKE3) -> list[bytes]:
    """Consistency proof from the first ``old_size`` leaves to all of ``leaf_hashes``."""
    return MerkleTree(leaf_hashes, hasher).consistency_proof(old_size)


def root_from_inclusion_proof(hasher: Hasher, index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1-4, and the sn = 0 test)."""
    if size <= 0 or not 0 <= index < size:
        raise ProofError(f"leaf index {index} out of range for tree size {size}")
    if len(leaf) != hasher.digest_size:
        raise ProofError(f"leaf hash is {len(leaf)} bytes, expected {hasher.digest_size}")
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof has too many hashes")
        if fn & 1 or fn == sn:
            r = hasher.node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hasher.node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof has too few hashes")
    return r


def verify_inclusion(hasher: Hasher, index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf`` is at ``index`` in the tree of ``size`` leaves with ``root``.

    Raises :class:`ProofError` with the reason when it is not.
    """
    if root_from_inclusion_proof(hasher, index, size, leaf, proof) != root:
        raise ProofError("inclusion proof does not lead to the expected root")


def verify_consistency(
    hasher: Hasher, size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree (size1, root1) is a prefix of the tree (size2, root2) (RFC 9162 §2.1.4.2).

    Policy, as in the published vectors: a proof from an empty tree is an error (it would prove
    nothing), and equal sizes need an empty proof and equal roots. Raises :class:`ProofError`.
    """
    if size1 <= 0:
        raise ProofError("consistency from an empty tree proves nothing")
    if size2 < size1:
        raise ProofError(f"new size {size2} is smaller than old size {size1}")
    if size1 == size2:
        if proof:
            raise ProofError("equal tree sizes need an empty consistency proof")
        if root1 != root2:
            raise ProofError("equal tree sizes but different roots")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof has too many hashes")
        if fn & 1 or fn == sn:
            fr = hasher.node(c, fr)
            sr = hasher.node(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hasher.node(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof has too few hashes")
    if fr != root1:
        raise ProofError("consistency proof does not lead to the old root")
    if sr != root2:
        raise ProofError("consistency proof does not lead to the new root")
