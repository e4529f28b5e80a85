"""The seal log as C2SP tlog-tiles: tile paths, tile contents, and proofs computed from tiles.

Why tiles: proofs used to rebuild the tree from every leaf hash (O(n) reads per request). The
tree is now stored as tlog-tiles rows (``seal_tiles``, written at append time by
:mod:`appliance.evidence.seal_log`): level 0 holds leaf hashes, level ``l`` the roots of the full
tiles below. Any perfect subtree of the tree is then the root of at most 128 consecutive hashes of
one tile row, so a root, inclusion or consistency proof reads O(log n) rows and hashes at most a
few hundred nodes, whatever the log's size. The same rows are what ``GET /v1/seals/log/tile/...``
serves, so standard tile clients (monitors, witnesses) fetch exactly what the proofs are made of.

Tile paths follow the spec: ``tile/<L>/<N>[.p/<W>]``, ``N`` in zero-padded 3-digit elements, all
but the last prefixed with ``x`` (1234067 → ``x001/x234/067``).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from sealforge_verify.merkle import Hasher, audit_path, consistency_path

from appliance import errors
from appliance.errors import AppError
from appliance.store import seals as seals_store

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
HASH_SIZE = 32
MAX_LEVEL = 63
_ELEMENT = re.compile(r"[0-9]{3}")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")


@dataclass(frozen=True)
class TileRef:
    """One tile resource: level, index within the level, and width (256 for a full tile)."""

    level: int
    index: int
    width: int = TILE_WIDTH

    @property
    def partial(self) -> bool:
        return self.width < TILE_WIDTH

    def path(self) -> str:
        """``<L>/<N>[.p/<W>]``, the part after ``tile/``."""
        return f"{self.level}/{encode_index(self.index)}" + (f".p/{self.width}" if self.partial else "")


def encode_index(index: int) -> str:
    """Tile index as zero-padded 3-digit path elements, all but the last starting with ``x``."""
    if index < 0:
        raise ValueError("tile index must not be negative")
    parts = []
    while True:
        index, rest = divmod(index, 1000)
        parts.append(f"{rest:03d}")
        if index == 0:
            break
    return "/".join(["x" + p for p in reversed(parts[1:])] + [parts[0]])


_LEVEL = re.compile(r"0|[1-9][0-9]?")


def parse_tile(path: str) -> TileRef:
    """Parse ``<L>/<N>[.p/<W>]`` (what follows ``tile/``); raises ``ValueError`` saying what is wrong."""
    level_text, _, rest = path.partition("/")
    if not _LEVEL.fullmatch(level_text) or int(level_text) > MAX_LEVEL:
        raise ValueError(f"tile level must be a decimal 0..{MAX_LEVEL} without leading zeros")
    level = int(level_text)
    elements = rest.split("/")
    width = TILE_WIDTH
    if len(elements) >= 2 and elements[-2].endswith(".p"):
        if not _WIDTH.fullmatch(elements[-1]) or int(elements[-1]) > TILE_WIDTH - 1:
            raise ValueError("partial tile width must be 1..255 without leading zeros")
        width = int(elements[-1])
        elements = [*elements[:-2], elements[-2][: -len(".p")]]
    *upper, last = elements
    if not _ELEMENT.fullmatch(last) or any(not (e[:1] == "x" and _ELEMENT.fullmatch(e[1:])) for e in upper):
        raise ValueError("tile index must be 3-digit elements, all but the last prefixed with x (x001/x234/067)")
    if upper and upper[0] == "x000":
        raise ValueError("tile index must not have leading zero elements")
    index = int("".join(e.lstrip("x") for e in elements))
    return TileRef(level, index, width)


def _latest(conn: sqlite3.Connection) -> dict[str, Any]:
    checkpoint = seals_store.latest_checkpoint(conn)
    if checkpoint is None:
        raise AppError(
            errors.NOT_FOUND,
            "the seal log is empty: no checkpoint has been published yet",
            hint="A checkpoint is published when the first job succeeds and is sealed.",
        )
    return checkpoint


def serve_tile(conn: sqlite3.Connection, path: str) -> bytes:
    """A tlog-tiles resource by its path after ``tile/``, as the latest checkpoint has it (a
    partial tile is a prefix of the stored row, so every width a past checkpoint needed stays
    servable).

    Entry bundles (``tile/entries/...``) are not served: the entries are sealed envelopes, which
    belong to the tenant that sealed them, while tiles hold only hashes (docs/decisions.md)."""
    if path == "entries" or path.startswith("entries/"):
        raise AppError(
            errors.NOT_FOUND,
            "entry bundles are not served: each sealed envelope belongs to its tenant",
            hint="Tiles hold every hash a proof needs; a tenant gets its own envelopes from GET /v1/seals/{id}.",
        )
    try:
        ref = parse_tile(path)
    except ValueError as exc:
        raise errors.validation("tile", str(exc)) from None
    return tile_bytes(conn, int(_latest(conn)["tree_size"]), ref)


def tile_bytes(conn: sqlite3.Connection, size: int, ref: TileRef) -> bytes:
    """The bytes of tile ``ref`` as a tree of ``size`` leaves (the latest checkpoint's) has it.

    A full tile exists once its 256 hashes do; a partial tile of width W exists when the tree has
    exactly W hashes in that tile position at some checkpointed size no larger than ``size``,
    which is when ``index * 256 + W <= size >> (8 * level)``. Anything else is 404, as the spec
    says empty or unpublished tiles must not be served."""
    available = size >> (TILE_HEIGHT * ref.level)
    if ref.index * TILE_WIDTH + ref.width > available:
        raise AppError(
            errors.NOT_FOUND,
            f"tile {ref.path()} is not in the log at its latest size {size}",
            hint="Read the checkpoint first: fetch only the tiles its tree size needs (C2SP tlog-tiles).",
        )
    row = seals_store.tile_hashes(conn, ref.level, ref.index)
    if row is None or len(row) < ref.width * HASH_SIZE:
        raise AppError(
            errors.UNAVAILABLE,
            f"the seal log's stored tiles are missing {ref.path()}",
            hint="The database was altered. Keep a copy of the state dir and tell your administrator.",
        )
    return row[: ref.width * HASH_SIZE]


class TileTree:
    """The tree of the first ``size`` leaves, read from stored tiles; roots and proofs from it.

    Each tile row a proof touches is read once and hashed up once for the life of the object (one
    request): a proof reads about two rows per tile level, O(log n) in all."""

    def __init__(self, conn: sqlite3.Connection, hasher: Hasher, size: int) -> None:
        self.conn = conn
        self.hasher = hasher
        self.size = size
        self._tiles: dict[tuple[int, int], list[list[bytes]]] = {}

    def __len__(self) -> int:
        return self.size

    def _levels(self, level: int, index: int) -> list[list[bytes]]:
        """Every node inside tile ``index`` of ``level``: its stored hashes, then each height above
        them as far as its hashes pair up (255 hashes for a full tile, computed once a request)."""
        key = (level, index)
        levels = self._tiles.get(key)
        if levels is None:
            row = seals_store.tile_hashes(self.conn, level, index) or b""
            hashes = [row[i : i + HASH_SIZE] for i in range(0, len(row), HASH_SIZE)]
            levels = [hashes]
            node = self.hasher.node
            while len(hashes) > 1:
                hashes = [node(hashes[i], hashes[i + 1]) for i in range(0, len(hashes) - 1, 2)]
                levels.append(hashes)
            self._tiles[key] = levels
        return levels

    def node(self, height: int, k: int) -> bytes:
        """MTH of the perfect subtree of ``2**height`` leaves starting at leaf ``k * 2**height``:
        a node inside one tile of level ``height // 8``."""
        level, rise = divmod(height, TILE_HEIGHT)
        tile = (k << rise) >> TILE_HEIGHT
        levels = self._levels(level, tile)
        at = k - (tile << (TILE_HEIGHT - rise))
        if rise >= len(levels) or at >= len(levels[rise]):
            raise AppError(
                errors.UNAVAILABLE,
                f"the seal log's stored tiles lack the node of height {height} at {k}",
                hint="The database was altered. Keep a copy of the state dir and tell your administrator.",
            )
        return levels[rise][at]

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range of the RFC 9162 recursion (see ``SubtreeHash``)."""
        n = end - start
        if n & (n - 1) == 0:
            height = n.bit_length() - 1
            return self.node(height, start >> height)
        k = 1 << ((n - 1).bit_length() - 1)
        return self.hasher.node(self.subtree(start, start + k), self.subtree(start + k, end))

    def _check_size(self, size: int | None) -> int:
        n = self.size if size is None else size
        if not 0 <= n <= self.size:
            raise ValueError(f"tree size {n} out of range 0..{self.size}")
        return n

    def root(self, size: int | None = None) -> bytes:
        n = self._check_size(size)
        return self.hasher.empty_root() if n == 0 else self.subtree(0, n)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        n = self._check_size(size)
        if not 0 <= index < n:
            raise ValueError(f"leaf index {index} out of range for tree size {n}")
        return audit_path(self.subtree, index, n)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        n = self._check_size(new_size)
        if not 0 < old_size <= n:
            raise ValueError(f"old size {old_size} must be in 1..{n}")
        return consistency_path(self.subtree, old_size, n)
