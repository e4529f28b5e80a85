"""JSON forms of inclusion and consistency proofs, as bundles hold them and the API serves them.

Why: the same two documents travel in a bundle (``inclusion.json``, ``consistency.json``) and
come from ``GET /v1/seals/proof/consistency?from=&to=``, so their shape is defined once here.

- inclusion: ``{"leaf_index": int, "tree_size": int, "hashes": [base64, ...], "hash": "blake3"}``
- consistency: ``{"from_size": int, "to_size": int, "hashes": [base64, ...], "hash": "blake3"}``
  (``hash`` is optional in a consistency proof and defaults to ``blake3``; unknown extra fields
  are ignored so that an API answer can carry more.)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from sealforge_verify.encoding import b64decode_strict, b64encode, canonical_json, parse_json_object
from sealforge_verify.merkle import Hasher, get_hasher

__all__ = ["ConsistencyProof", "InclusionProof"]

MAX_PROOF_HASHES = 128


class _ProofDocument(ABC):
    """What both proof documents share: their canonical bytes and their hash function."""

    hash: str

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """The document as JSON-ready data (each proof names its own fields)."""

    def to_json_bytes(self) -> bytes:
        return canonical_json(self.to_dict())

    @property
    def hasher(self) -> Hasher:
        return get_hasher(self.hash)


@dataclass(frozen=True)
class InclusionProof(_ProofDocument):
    """Where the seal's leaf sits in the tree, and the audit path to the root."""

    leaf_index: int
    tree_size: int
    hashes: tuple[bytes, ...]
    hash: str = "blake3"

    def to_dict(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "hashes": [b64encode(h) for h in self.hashes],
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
        }

    @classmethod
    def from_json_bytes(cls, data: bytes) -> InclusionProof:
        """Parse and check types; raises ``ValueError`` with the problem."""
        obj = parse_json_object(data, "inclusion proof")
        hasher = get_hasher(obj.get("hash"))  # type: ignore[arg-type]
        index = _non_negative_int(obj, "leaf_index")
        size = _non_negative_int(obj, "tree_size")
        return cls(index, size, _hashes(obj, hasher), hasher.name)


@dataclass(frozen=True)
class ConsistencyProof(_ProofDocument):
    """Proof that the tree of ``from_size`` leaves is a prefix of the tree of ``to_size`` leaves."""

    from_size: int
    to_size: int
    hashes: tuple[bytes, ...]
    hash: str = "blake3"

    def to_dict(self) -> dict[str, Any]:
        return {
            "from_size": self.from_size,
            "hash": self.hash,
            "hashes": [b64encode(h) for h in self.hashes],
            "to_size": self.to_size,
        }

    @classmethod
    def from_json_bytes(cls, data: bytes) -> ConsistencyProof:
        """Parse and check types; raises ``ValueError`` with the problem."""
        obj = parse_json_object(data, "consistency proof")
        hasher = get_hasher(obj.get("hash", "blake3"))
        return cls(
            _non_negative_int(obj, "from_size"),
            _non_negative_int(obj, "to_size"),
            _hashes(obj, hasher),
            hasher.name,
        )


def _non_negative_int(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key)
    if type(value) is not int or value < 0:
        raise ValueError(f"{key} must be a non-negative integer, got {value!r}")
    return value


def _hashes(obj: dict[str, Any], hasher: Hasher) -> tuple[bytes, ...]:
    items = obj.get("hashes")
    if not isinstance(items, list) or len(items) > MAX_PROOF_HASHES:
        raise ValueError(f"hashes must be a list of at most {MAX_PROOF_HASHES} base64 strings")
    out = []
    for i, item in enumerate(items):
        raw = b64decode_strict(item)
        if len(raw) != hasher.digest_size:
            raise ValueError(f"hashes[{i}] is {len(raw)} bytes, expected {hasher.digest_size}")
        out.append(raw)
    return tuple(out)
