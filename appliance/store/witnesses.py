"""Queries for the seal log's witnesses and the cosignatures they sent on its checkpoints."""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.store.db import fetch_all, fetch_one


def insert_witness(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO witnesses (key_id, name, verifier_key, description, created_at)"
        " VALUES (:key_id, :name, :verifier_key, :description, :created_at)",
        row,
    )


def get_witness(conn: sqlite3.Connection, key_id: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM witnesses WHERE key_id = ?", (key_id,))


def list_witnesses(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every registered witness, oldest first."""
    return fetch_all(conn, "SELECT * FROM witnesses ORDER BY created_at, key_id")


def delete_witness(conn: sqlite3.Connection, key_id: str) -> int:
    """Delete a witness and the cosignatures it sent; returns how many cosignatures went with it."""
    cosignatures = conn.execute("DELETE FROM cosignatures WHERE witness_key_id = ?", (key_id,)).rowcount
    conn.execute("DELETE FROM witnesses WHERE key_id = ?", (key_id,))
    return int(cosignatures)


def put_cosignature(conn: sqlite3.Connection, row: dict[str, Any]) -> bool:
    """Store a witness's cosignature of a checkpoint unless one at least as new is there already;
    returns whether it was stored."""
    cur = conn.execute(
        "INSERT INTO cosignatures (tree_size, witness_key_id, timestamp, line, received_at)"
        " VALUES (:tree_size, :witness_key_id, :timestamp, :line, :received_at)"
        " ON CONFLICT (tree_size, witness_key_id) DO UPDATE SET"
        " timestamp = excluded.timestamp, line = excluded.line, received_at = excluded.received_at"
        " WHERE excluded.timestamp > cosignatures.timestamp",
        row,
    )
    return cur.rowcount == 1


def cosignatures_at(conn: sqlite3.Connection, size: int) -> list[dict[str, Any]]:
    """The cosignatures of the checkpoint of ``size``, in witness registration order."""
    return fetch_all(
        conn,
        "SELECT c.*, w.name AS witness_name FROM cosignatures c JOIN witnesses w ON w.key_id = c.witness_key_id"
        " WHERE c.tree_size = ? ORDER BY w.created_at, w.key_id",
        (size,),
    )


def latest_cosigned_size(conn: sqlite3.Connection, at_least: int) -> int | None:
    """The largest checkpoint size at or above ``at_least`` that carries a cosignature, or None."""
    row = conn.execute("SELECT MAX(tree_size) FROM cosignatures WHERE tree_size >= ?", (at_least,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])
