"""An independent RFC 9162 check, written straight from the RFC for the tests (never the project's code).

Why: the appliance's proofs must verify with the standard algorithm, not only with the verifier
that was written beside them. These functions follow §2.1.1 (MTH), §2.1.3.2 (verifying an
inclusion proof) and §2.1.4.2 (verifying a consistency proof) step by step, with SHA-256 and the
0x00 / 0x01 prefixes of RFC 6962, and share nothing with ``sealforge_verify``. The shared RFC
9162 vectors check this code too (tests/evidence/test_tree_hash.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of §2.1.1, from the leaf hashes."""
    n = len(leaf_hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaf_hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node(mth(leaf_hashes[:k]), mth(leaf_hashes[k:]))


def inclusion_ok(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """§2.1.3.2, steps 1 to 6 (and every hash a SHA-256 digest)."""
    if any(len(h) != 32 for h in (leaf_hash, root, *proof)) or index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def consistency_ok(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> bool:
    """§2.1.4.2, steps 1 to 7 (an empty first tree is refused, as the published vectors do)."""
    if any(len(h) != 32 for h in proof) or size1 == 0 or size2 < size1:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if not proof:
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # step 1: first_hash is an exact power of two
        path = [root1, *path]
    fn, sn = size1 - 1, size2 - 1
    while fn % 2 == 1:  # step 3
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root1 and sr == root2 and sn == 0
