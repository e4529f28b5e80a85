"""Randomness that depends only on (seed, table, column, stream, block), never on chunking.

Every random draw for a column comes from a Philox generator keyed by the seed, the names involved
and the index of a fixed-size block of rows. Writing in chunks of 1,000 or 100,000 rows therefore
sees the same numbers, in any process. Columns that must be unique, or that foreign keys point to,
are instead pure functions of the row index (keyed bijections), so any row can be computed alone.
"""

from __future__ import annotations

import hashlib

import numpy as np

BLOCK_ROWS = 65_536
"""Rows per randomness block. Part of the determinism contract: changing it changes every file."""

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_MIX1 = _U64(0xBF58476D1CE4E5B9)
_MIX2 = _U64(0x94D049BB133111EB)


def name_key(*parts: str) -> int:
    """A stable 64-bit key for names (Python's ``hash`` is salted per process, so it cannot serve)."""
    digest = hashlib.blake2b("\x00".join(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def block_rng(seed: int, table: str, column: str, stream: str, block: int) -> np.random.Generator:
    """The generator for one block of one column's stream (values, nulls, noise...)."""
    seq = np.random.SeedSequence(entropy=seed, spawn_key=(name_key(table, column, stream), block))
    return np.random.Generator(np.random.Philox(seq))


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a bijection on uint64 that scrambles bits well."""
    with np.errstate(over="ignore"):
        z = x.astype(_U64, copy=True) + _GOLDEN
        z = (z ^ (z >> _U64(30))) * _MIX1
        z = (z ^ (z >> _U64(27))) * _MIX2
        return z ^ (z >> _U64(31))


class KeyedPermutation:
    """A keyed pseudo-random bijection of ``[0, size)`` (Feistel network plus cycle walking).

    Used for unique columns: distinct row indices map to distinct values by construction, so
    uniqueness holds across chunks without remembering what was already emitted.
    """

    ROUNDS = 4

    def __init__(self, size: int, key: int) -> None:
        if size < 1:
            raise ValueError("permutation size must be positive")
        bits = max(2, (size - 1).bit_length())
        self.half = (bits + 1) // 2
        self.mask = _U64((1 << self.half) - 1)
        self.size = size
        seeds = np.arange(self.ROUNDS, dtype=_U64) + _U64(key & 0xFFFFFFFFFFFFFFFF)
        self.round_keys = mix64(seeds)

    def _once(self, x: np.ndarray) -> np.ndarray:
        shift = _U64(self.half)
        left = x >> shift
        right = x & self.mask
        for k in self.round_keys:
            left, right = right, left ^ (mix64(right ^ k) & self.mask)
        return (left << shift) | right

    def __call__(self, index: np.ndarray) -> np.ndarray:
        """Permute indices (each must be in range); returns int64."""
        out = self._once(index.astype(_U64))
        limit = _U64(self.size)
        todo = np.flatnonzero(out >= limit)
        while todo.size:
            out[todo] = self._once(out[todo])
            todo = todo[out[todo] >= limit]
        return out.astype(np.int64)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_UUID_SLOTS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)], dtype=np.intp)


def uuid4_bytes(index: np.ndarray, key: int) -> np.ndarray:
    """Version-4 UUID text for each row index, as an ``(n, 36)`` uint8 matrix.

    The top 60 random bits are a bijection of the index, so the UUIDs are unique for any
    realistic row count, while the rest look random and depend on the seed.
    """
    perm = KeyedPermutation(1 << 60, key)(index.astype(np.int64)).astype(_U64)
    low = mix64(index.astype(_U64) ^ _U64(name_key(str(key), "uuid-low")))
    hi = ((perm >> _U64(12)) << _U64(16)) | _U64(0x4000) | (perm & _U64(0xFFF))
    low = (low & _U64(0x3FFFFFFFFFFFFFFF)) | _U64(0x8000000000000000)
    raw = np.empty((index.size, 2), dtype=">u8")
    raw[:, 0] = hi
    raw[:, 1] = low
    nibbles = raw.view(np.uint8).reshape(-1, 16)
    hexes = np.empty((index.size, 32), dtype=np.uint8)
    hexes[:, 0::2] = _HEX[nibbles >> 4]
    hexes[:, 1::2] = _HEX[nibbles & 0x0F]
    out = np.full((index.size, 36), ord("-"), dtype=np.uint8)
    out[:, _UUID_SLOTS] = hexes
    return out
