"""`appliance.store.db`: transactions are all or nothing, nest into the outer one, and rows come back as dicts."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from appliance.services import identity
from appliance.store import identity as identity_store
from appliance.store.db import ConnectionPool, db_path, fetch_all, fetch_one, open_connection, transaction


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


def test_database_file_is_private(tmp_path: Path) -> None:
    """Made by the first open of an empty state dir (the `state_dir` fixture's is a copy of one)."""
    from appliance.cli.release import release
    from appliance.store.open import open_db

    state = tmp_path / "empty"
    open_db(state)
    try:
        assert db_path(state).stat().st_mode & 0o077 == 0
    finally:
        release(state)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pool_lends_the_newest_idle_connection_and_keeps_it(state_dir: Path, conn: sqlite3.Connection) -> None:
    pool = ConnectionPool(db_path(state_dir), keep=1, idle_s=5.0, clock=_Clock())
    first = pool.borrow()
    pool.give_back(first)
    assert pool.borrow() is first
    pool.give_back(first)
    pool.close()


def test_pool_closes_connections_left_idle_after_a_burst(state_dir: Path, conn: sqlite3.Connection) -> None:
    """After a burst the pool shrinks back to `keep` once the extra connections have sat out `idle_s`."""
    clock = _Clock()
    pool = ConnectionPool(db_path(state_dir), keep=2, idle_s=5.0, clock=clock)
    burst = [pool.borrow() for _ in range(6)]
    for lent in burst:
        pool.give_back(lent)
    assert pool.idle_count() == 6

    clock.now += 4.0  # not idle long enough yet
    pool.give_back(pool.borrow())
    assert pool.idle_count() == 6

    clock.now += 2.0
    kept = pool.borrow()
    assert pool.idle_count() == 1  # four stale ones closed, the newest lent, one left idle
    with pytest.raises(sqlite3.ProgrammingError):
        burst[0].execute("SELECT 1")  # the oldest was closed
    assert kept.execute("SELECT 1").fetchone()[0] == 1
    pool.give_back(kept)
    pool.close()


def test_pool_closes_what_is_given_back_when_full(state_dir: Path, conn: sqlite3.Connection) -> None:
    pool = ConnectionPool(db_path(state_dir), size=1, clock=_Clock())
    one, two = pool.borrow(), pool.borrow()
    pool.give_back(one)
    pool.give_back(two)
    assert pool.idle_count() == 1
    with pytest.raises(sqlite3.ProgrammingError):
        two.execute("SELECT 1")
    pool.close()
