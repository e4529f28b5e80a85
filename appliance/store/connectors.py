"""SQL for connectors: one row per configured source or destination, always read by tenant."""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.store import pages
from appliance.store.db import fetch_one

_COLUMNS = (
    "id, tenant_id, name, type, description, settings, credentials, credentials_updated_at, last_test,"
    " created_at, updated_at"
)


def insert_connector(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO connectors (id, tenant_id, name, type, description, settings, credentials,"
        " credentials_updated_at, created_at, updated_at) VALUES (:id, :tenant_id, :name, :type, :description,"
        " :settings, :credentials, :credentials_updated_at, :created_at, :updated_at)",
        row,
    )


def get_connector(conn: sqlite3.Connection, connector_id: str, tenant_id: str) -> dict[str, Any] | None:
    return fetch_one(
        conn, f"SELECT {_COLUMNS} FROM connectors WHERE id = ? AND tenant_id = ?", (connector_id, tenant_id)
    )


def page_connectors(conn: sqlite3.Connection, tenant_id: str, limit: int, after: str | None) -> pages.Page:
    return pages.page(conn, "connectors", {"tenant_id": tenant_id}, limit=limit, after=after, columns=_COLUMNS)


def count_connectors(conn: sqlite3.Connection, tenant_id: str) -> int:
    return int(conn.execute("SELECT count(*) FROM connectors WHERE tenant_id = ?", (tenant_id,)).fetchone()[0])


def update_connector(conn: sqlite3.Connection, connector_id: str, changes: dict[str, Any]) -> None:
    if not changes:
        return
    assignments = ", ".join(f"{name} = :{name}" for name in changes)
    conn.execute(f"UPDATE connectors SET {assignments} WHERE id = :_id", {**changes, "_id": connector_id})


def delete_connector(conn: sqlite3.Connection, connector_id: str) -> None:
    conn.execute("DELETE FROM connectors WHERE id = ?", (connector_id,))
