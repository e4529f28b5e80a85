"""`appliance.store.db`: transactions are all or nothing, nest into the outer one, and rows come back as dicts."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from appliance.services import identity
from appliance.store import identity as identity_store
from appliance.store.db import db_path, fetch_all, fetch_one, open_connection, transaction


class Boom(Exception):
    pass


def _names(conn: sqlite3.Connection) -> list[str]:
    return [t["name"] for t in identity_store.all_tenants(conn)]


def test_transaction_commits_on_success(conn: sqlite3.Connection) -> None:
    with transaction(conn):
        identity_store.insert_tenant(conn, {"id": "ten_A", "name": "a", "credits_micro": 0, "created_at": "t"})
    assert not conn.in_transaction
    assert _names(conn) == ["a"]


def test_transaction_rolls_back_every_write_on_an_exception(conn: sqlite3.Connection) -> None:
    with pytest.raises(Boom), transaction(conn):
        identity_store.insert_tenant(conn, {"id": "ten_A", "name": "a", "credits_micro": 0, "created_at": "t"})
        identity_store.insert_tenant(conn, {"id": "ten_B", "name": "b", "credits_micro": 0, "created_at": "t"})
        raise Boom()
    assert not conn.in_transaction
    assert _names(conn) == []


def test_a_failed_statement_rolls_back_the_earlier_ones(conn: sqlite3.Connection) -> None:
    with pytest.raises(sqlite3.IntegrityError), transaction(conn):
        identity_store.insert_tenant(conn, {"id": "ten_A", "name": "a", "credits_micro": 0, "created_at": "t"})
        identity_store.insert_tenant(conn, {"id": "ten_B", "name": "a", "credits_micro": 0, "created_at": "t"})
    assert _names(conn) == []


def test_inner_transaction_commits_only_with_the_outer(conn: sqlite3.Connection) -> None:
    with pytest.raises(Boom), transaction(conn):
        with transaction(conn):
            identity_store.insert_tenant(conn, {"id": "ten_A", "name": "a", "credits_micro": 0, "created_at": "t"})
        assert conn.in_transaction  # the inner block did not commit
        raise Boom()
    assert _names(conn) == []


def test_service_calls_inside_an_outer_transaction_roll_back_with_it(conn: sqlite3.Connection) -> None:
    """Services open their own `transaction`; inside a caller's it joins, so both roll back together."""
    with pytest.raises(Boom), transaction(conn):
        tenant = identity.create_tenant(conn, "acme", credits=5)
        identity.create_key(conn, tenant["id"], ["read"])
        raise Boom()
    assert _names(conn) == []
    assert fetch_all(conn, "SELECT id FROM api_keys") == []


def test_nested_success_commits_once_at_the_outer_end(conn: sqlite3.Connection, state_dir: Path) -> None:
    other = open_connection(db_path(state_dir))
    try:
        with transaction(conn):
            with transaction(conn):
                identity_store.insert_tenant(conn, {"id": "ten_A", "name": "a", "credits_micro": 0, "created_at": "t"})
            assert _names(other) == []  # not visible to another connection yet
        assert _names(other) == ["a"]
    finally:
        other.close()


def test_writer_lock_is_taken_at_begin(conn: sqlite3.Connection, state_dir: Path) -> None:
    """BEGIN IMMEDIATE: a second writer cannot start while the first holds its transaction."""
    other = open_connection(db_path(state_dir))
    other.execute("PRAGMA busy_timeout = 0")
    try:
        with transaction(conn), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_fetch_helpers_return_plain_dicts(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    one = fetch_one(conn, "SELECT id, name FROM tenants WHERE id = ?", (acme["id"],))
    assert one == {"id": acme["id"], "name": "acme"}
    assert fetch_one(conn, "SELECT id FROM tenants WHERE id = ?", ("ten_missing",)) is None
    assert fetch_all(conn, "SELECT name FROM tenants") == [{"name": "acme"}]


def test_connection_enforces_foreign_keys_and_wal(conn: sqlite3.Connection) -> None:
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.IntegrityError):
        identity_store.insert_key(
            conn,
            {
                "id": "key_X",
                "tenant_id": "ten_missing",
                "name": "n",
                "prefix": "p",
                "key_hash": "h",
                "scopes": "read",
                "created_at": "t",
            },
        )


def test_database_file_is_private(conn: sqlite3.Connection, state_dir: Path) -> None:
    assert db_path(state_dir).stat().st_mode & 0o077 == 0
