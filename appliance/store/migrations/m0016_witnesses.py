"""Witnesses of the seal log and their cosignatures on its checkpoints (issue #18).

- ``witnesses``: the cosigner keys the operator registered (C2SP tlog-cosignature vkeys, type
  0x04). Only these keys' cosignatures are stored: an unknown key's would only take space, and an
  auditor trusts witnesses it chose, not ones the appliance lists.
- ``cosignatures``: one per checkpoint and witness, the newest the witness sent (its signature
  line as received, and the timestamp inside it), served as extra signature lines on that
  checkpoint's note.
"""

from __future__ import annotations

import sqlite3

SQL = """
CREATE TABLE witnesses (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    verifier_key TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE TABLE cosignatures (
    tree_size INTEGER NOT NULL REFERENCES checkpoints(tree_size),
    witness_key_id TEXT NOT NULL REFERENCES witnesses(key_id),
    timestamp INTEGER NOT NULL,
    line TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (tree_size, witness_key_id)
) WITHOUT ROWID
"""


def up(conn: sqlite3.Connection) -> None:
    for statement in SQL.split(";"):
        if statement.strip():
            conn.execute(statement)
