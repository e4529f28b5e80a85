"""The seal log declares its tree hash, and keeps its Merkle tree as C2SP tlog-tiles (issue #18).

- ``seal_log.tree_hash``: the hash the log's tree is built with, fixed when the log is created.
  Logs that exist when this migration runs were built with BLAKE3 and keep it (the column's
  default); a log created afterwards is written with ``sha256`` (RFC 6962/9162, what standard
  witnesses and monitors verify).
- ``seal_tiles``: the tree as tlog-tiles rows, one per tile: ``level`` 0 holds leaf hashes, level
  ``l`` > 0 the roots of the full tiles of level ``l - 1``; each row is up to 256 hashes of 32
  bytes, appended to as the log grows (a row only ever grows, so every partial tile a past
  checkpoint needs is a prefix of it). Proofs read O(log n) rows instead of every leaf hash.

Existing logs get their tiles here, from the leaf hashes kept in ``seals``.
"""

from __future__ import annotations

import sqlite3

from sealforge_verify.merkle import BLAKE3

SQL = """
ALTER TABLE seal_log ADD COLUMN tree_hash TEXT NOT NULL DEFAULT 'blake3';
CREATE TABLE seal_tiles (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hashes BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID
"""

TILE_WIDTH = 256


def _tile_root(hashes: list[bytes]) -> bytes:
    """Root of a full tile's 256 hashes (a perfect subtree, so plain pairwise hashing)."""
    while len(hashes) > 1:
        hashes = [BLAKE3.node(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]


def _backfill(conn: sqlite3.Connection) -> None:
    level = 0
    hashes = [bytes(r[0]) for r in conn.execute("SELECT leaf_hash FROM seals ORDER BY leaf_index")]
    while hashes:
        full: list[bytes] = []
        for n, at in enumerate(range(0, len(hashes), TILE_WIDTH)):
            row = hashes[at : at + TILE_WIDTH]
            conn.execute("INSERT INTO seal_tiles (level, idx, hashes) VALUES (?, ?, ?)", (level, n, b"".join(row)))
            if len(row) == TILE_WIDTH:
                full.append(_tile_root(row))
        hashes, level = full, level + 1


def up(conn: sqlite3.Connection) -> None:
    for statement in SQL.split(";"):
        if statement.strip():
            conn.execute(statement)
    _backfill(conn)
