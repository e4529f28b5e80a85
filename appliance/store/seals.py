"""Queries for the seal log: signing keys, the log head, seals, checkpoints and tiles.

Writers call these inside the caller's ``BEGIN IMMEDIATE`` transaction, which is what serialises
appends: the head row is read and rewritten under the database write lock.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.store.db import fetch_all, fetch_one

_CONTRACT_HASH = "(SELECT contract_hash FROM jobs WHERE jobs.id = seals.job_id) AS contract_hash"
SEAL_LIST_COLUMNS = f"id, tenant_id, job_id, leaf_index, leaf_hash, signing_key_id, created_at, {_CONTRACT_HASH}"
"""A seal row for lists: no envelope, plus its job's ``contract_hash`` (what the seal attests)."""


# signing keys


def active_signing_key(conn: sqlite3.Connection) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM signing_keys WHERE retired_at IS NULL")


def signing_keys(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every key ever used, oldest first (retired ones too: old bundles name them)."""
    return fetch_all(conn, "SELECT * FROM signing_keys ORDER BY created_at, key_id")


def insert_signing_key(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO signing_keys (key_id, name, verifier_key, created_at, retired_at)"
        " VALUES (:key_id, :name, :verifier_key, :created_at, NULL)",
        row,
    )


def retire_signing_key(conn: sqlite3.Connection, key_id: str, at: str) -> None:
    conn.execute("UPDATE signing_keys SET retired_at = ? WHERE key_id = ? AND retired_at IS NULL", (at, key_id))


# the log head


def log_head(conn: sqlite3.Connection) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM seal_log WHERE id = 1")


def insert_log_head(
    conn: sqlite3.Connection, appliance_id: str, origin: str, tree_hash: str, root: bytes, at: str
) -> None:
    conn.execute(
        "INSERT INTO seal_log (id, appliance_id, origin, tree_hash, tree_size, frontier, root, updated_at)"
        " VALUES (1, ?, ?, ?, 0, x'', ?, ?)",
        (appliance_id, origin, tree_hash, root, at),
    )


def update_log_head(conn: sqlite3.Connection, old_size: int, size: int, frontier: bytes, root: bytes, at: str) -> None:
    """Move the head from ``old_size`` to ``size``; fails loudly if another writer moved it first."""
    cur = conn.execute(
        "UPDATE seal_log SET tree_size = ?, frontier = ?, root = ?, updated_at = ? WHERE id = 1 AND tree_size = ?",
        (size, frontier, root, at, old_size),
    )
    if cur.rowcount != 1:
        raise RuntimeError(f"seal log head moved under us (expected size {old_size})")


# seals


def insert_seal(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO seals (id, tenant_id, job_id, leaf_index, leaf_hash, envelope, signing_key_id, created_at)"
        " VALUES (:id, :tenant_id, :job_id, :leaf_index, :leaf_hash, :envelope, :signing_key_id, :created_at)",
        row,
    )


def get_seal(conn: sqlite3.Connection, seal_id: str, tenant_id: str) -> dict[str, Any] | None:
    return fetch_one(
        conn, f"SELECT *, {_CONTRACT_HASH} FROM seals WHERE id = ? AND tenant_id = ?", (seal_id, tenant_id)
    )


def seal_of_job(conn: sqlite3.Connection, job_id: str, tenant_id: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM seals WHERE job_id = ? AND tenant_id = ?", (job_id, tenant_id))


# checkpoints


def insert_checkpoint(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO checkpoints (tree_size, root, note, signing_key_id, created_at)"
        " VALUES (:tree_size, :root, :note, :signing_key_id, :created_at)",
        row,
    )


def latest_checkpoint(conn: sqlite3.Connection) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM checkpoints ORDER BY tree_size DESC LIMIT 1")


def checkpoint_at(conn: sqlite3.Connection, size: int) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM checkpoints WHERE tree_size = ?", (size,))


# tiles (C2SP tlog-tiles rows: up to 256 hashes of 32 bytes each)


def tile_hashes(conn: sqlite3.Connection, level: int, index: int) -> bytes | None:
    """The stored row of tile ``index`` at ``level`` (the widest it has grown to), or ``None``."""
    row = conn.execute("SELECT hashes FROM seal_tiles WHERE level = ? AND idx = ?", (level, index)).fetchone()
    return None if row is None else bytes(row[0])


def append_tile_hash(conn: sqlite3.Connection, level: int, index: int, position: int, value: bytes) -> None:
    """Put ``value`` at ``position`` of tile ``index`` at ``level``, which must hold exactly
    ``position`` hashes now; fails loudly otherwise (a tile row only ever grows by one hash)."""
    if position == 0:
        conn.execute("INSERT INTO seal_tiles (level, idx, hashes) VALUES (?, ?, ?)", (level, index, value))
        return
    cur = conn.execute(
        "UPDATE seal_tiles SET hashes = CAST(hashes || ? AS BLOB)"  # `||` gives TEXT; the row stays a BLOB
        " WHERE level = ? AND idx = ? AND length(hashes) = ?",
        (value, level, index, position * len(value)),
    )
    if cur.rowcount != 1:
        raise RuntimeError(f"tile {level}/{index} does not hold {position} hashes")
