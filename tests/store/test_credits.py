"""`appliance.store.credits`: the balance always equals the opening credit plus the ledger's deltas."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from appliance.errors import AppError
from appliance.services import credits
from appliance.store import credits as credits_store
from appliance.store.db import fetch_all, transaction
from tests.store.test_jobs import _record

OPENING = credits.to_micro(1000)  # the `acme` fixture's opening credit


def _ledger_sum(conn: sqlite3.Connection, tenant_id: str) -> int:
    rows = fetch_all(conn, "SELECT delta_micro FROM credit_ledger WHERE tenant_id = ?", (tenant_id,))
    return sum(r["delta_micro"] for r in rows)


def test_balance_is_opening_plus_ledger(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    job = _record(conn, acme["id"])
    credits.top_up(conn, acme["id"], 2.5, note="invoice 1")
    with transaction(conn):
        credits.charge(conn, acme["id"], job["id"], "mock", 1_234)
        credits.charge(conn, acme["id"], None, "generate", 66)
    credits.top_up(conn, acme["id"], 0.000001)
    balance = credits_store.balance(conn, acme["id"])
    assert balance == OPENING + _ledger_sum(conn, acme["id"])
    assert balance == OPENING + 2_500_000 - 1_234 - 66 + 1


def test_usage_by_kind_sums_job_charges_only(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    with transaction(conn):
        credits.charge(conn, acme["id"], None, "mock", 100)
        credits.charge(conn, acme["id"], None, "mock", 50)
        credits.charge(conn, acme["id"], None, "analyze", 7)
    credits.top_up(conn, acme["id"], 1)
    assert credits_store.usage_by_kind(conn, acme["id"]) == [
        {"note": "analyze", "jobs": 1, "micro": 7},
        {"note": "mock", "jobs": 2, "micro": 150},
    ]
    usage = credits.usage(conn, acme["id"])
    assert usage["total_credits"] == credits.from_micro(157)
    assert usage["balance"] == credits.from_micro(OPENING + 1_000_000 - 157)


def test_ledger_and_usage_are_per_tenant(
    conn: sqlite3.Connection, acme: dict[str, Any], globex: dict[str, Any]
) -> None:
    with transaction(conn):
        credits.charge(conn, acme["id"], None, "mock", 10)
    assert credits_store.balance(conn, globex["id"]) == OPENING
    assert credits_store.usage_by_kind(conn, globex["id"]) == []
    assert credits_store.balance(conn, acme["id"]) == OPENING - 10


def test_zero_charge_writes_no_ledger_row(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    with transaction(conn):
        credits.charge(conn, acme["id"], None, "mock", 0)
    assert _ledger_sum(conn, acme["id"]) == 0
    assert fetch_all(conn, "SELECT id FROM credit_ledger") == []


def test_a_rolled_back_charge_leaves_balance_and_ledger_unchanged(
    conn: sqlite3.Connection, acme: dict[str, Any]
) -> None:
    with pytest.raises(RuntimeError), transaction(conn):
        credits.charge(conn, acme["id"], None, "mock", 500)
        raise RuntimeError("job success transaction failed")
    assert credits_store.balance(conn, acme["id"]) == OPENING
    assert _ledger_sum(conn, acme["id"]) == 0


def test_balance_of_unknown_tenant_is_none(conn: sqlite3.Connection) -> None:
    assert credits_store.balance(conn, "ten_missing") is None
    with pytest.raises(AppError):
        credits.balance_micro(conn, "ten_missing")


def test_top_up_rejects_non_positive_and_unknown_tenant(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    for amount in (0, -1, 0.0000001):
        with pytest.raises(AppError):
            credits.top_up(conn, acme["id"], amount)
    with pytest.raises(AppError):
        credits.top_up(conn, "ten_missing", 5)
    assert fetch_all(conn, "SELECT id FROM credit_ledger") == []


def test_require_enough_compares_with_the_balance(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    credits.require_enough(conn, acme["id"], OPENING)
    with pytest.raises(AppError) as caught:
        credits.require_enough(conn, acme["id"], OPENING + 1)
    assert caught.value.code == "CREDIT_LIMIT_EXCEEDED"
