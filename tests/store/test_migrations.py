"""Migrations: applied once, in order, each in one transaction; WAL and busy timeout set."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.store.db import open_connection, transaction
from appliance.store.migrations import latest_version, migrate


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    conn = open_connection(tmp_path / "x.db")
    assert migrate(conn) == latest_version() >= 1
    assert migrate(conn) == latest_version()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    conn = open_connection(tmp_path / "x.db")
    migrate(conn)
    with pytest.raises(RuntimeError), transaction(conn):
        conn.execute("INSERT INTO tenants (id, name, credits_micro, created_at) VALUES ('ten_x', 'x', 0, 'now')")
        raise RuntimeError("boom")
    assert conn.execute("SELECT count(*) FROM tenants").fetchone()[0] == 0
