"""Connectors (issue #21): the tenant's configured sources and destinations on the plant LAN.

``settings`` is the type's JSON settings (host, database, bucket, folder...), shown back to the
tenant; ``credentials`` is the sealed JSON of its secrets (password, secret key), AES-GCM under
``keys/connectors.key`` with the connector id as associated data, never shown back.
``last_test`` keeps the newest ``POST …/test`` answer, so a list shows which connectors work.
"""

from __future__ import annotations

import sqlite3

SQL = """
CREATE TABLE connectors (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL,
    credentials TEXT,
    credentials_updated_at TEXT,
    last_test TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX connectors_by_tenant ON connectors (tenant_id, id)
"""


def up(conn: sqlite3.Connection) -> None:
    for statement in SQL.split(";"):
        if statement.strip():
            conn.execute(statement)
