"""The seal log: signing keys, the log head (origin and frontier), seals and signed checkpoints.

``seal_log`` holds one row: the log's origin line, its size, and its frontier (the roots of the
perfect subtrees that make up the tree, left to right, 32 bytes each), so an append costs
O(log n) hashes and never reads the older leaves. ``seals`` keeps every leaf hash for proofs.
"""

from __future__ import annotations

import sqlite3

SQL = """
CREATE TABLE signing_keys (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    verifier_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    retired_at TEXT
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys((retired_at IS NULL)) WHERE retired_at IS NULL;
CREATE TABLE seal_log (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    appliance_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    tree_size INTEGER NOT NULL,
    frontier BLOB NOT NULL,
    root BLOB NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE seals (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    job_id TEXT NOT NULL UNIQUE REFERENCES jobs(id),
    leaf_index INTEGER NOT NULL UNIQUE,
    leaf_hash BLOB NOT NULL,
    envelope BLOB NOT NULL,
    signing_key_id TEXT NOT NULL REFERENCES signing_keys(key_id),
    created_at TEXT NOT NULL
);
CREATE INDEX seals_tenant ON seals(tenant_id, id);
CREATE TABLE checkpoints (
    tree_size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    signing_key_id TEXT NOT NULL REFERENCES signing_keys(key_id),
    created_at TEXT NOT NULL
);
"""


def up(conn: sqlite3.Connection) -> None:
    for statement in SQL.split(";"):
        if statement.strip():
            conn.execute(statement)
