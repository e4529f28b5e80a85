"""Credits: 1 credit = 1,000,000 generated rows, so one row costs one micro-credit.

Balances and the ledger are kept in integer micro-credits to avoid float drift; the API shows
credits as decimals. Jobs are charged only when they succeed.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance import errors
from appliance.clock import now_iso
from appliance.errors import AppError
from appliance.ids import new_id
from appliance.store import credits as credits_store
from appliance.store.db import transaction

MICRO = 1_000_000


def to_micro(credits: float) -> int:
    return round(credits * MICRO)


def from_micro(micro: int) -> float:
    return micro / MICRO


def balance_micro(conn: sqlite3.Connection, tenant_id: str) -> int:
    value = credits_store.balance(conn, tenant_id)
    if value is None:
        raise errors.not_found("tenant", tenant_id)
    return value


def require_enough(conn: sqlite3.Connection, tenant_id: str, needed_micro: int) -> None:
    have = balance_micro(conn, tenant_id)
    if needed_micro > have:
        raise AppError(
            errors.CREDIT_LIMIT_EXCEEDED,
            f"this job needs {from_micro(needed_micro):g} credits; the balance is {from_micro(have):g}",
        )


def top_up(conn: sqlite3.Connection, tenant_id: str, credits: float, note: str = "") -> dict[str, Any]:
    micro = to_micro(credits)
    if micro <= 0:
        raise errors.validation("credits", "must be more than 0")
    with transaction(conn):
        balance_micro(conn, tenant_id)
        credits_store.add_entry(conn, new_id("sk"), tenant_id, micro, "topup", None, note, now_iso())
    return balance(conn, tenant_id)


def charge(conn: sqlite3.Connection, tenant_id: str, job_id: str | None, kind: str, micro: int) -> None:
    """Record what a succeeded job (or a one-request generation) cost; call inside its success transaction."""
    if micro > 0:
        credits_store.add_entry(conn, new_id("sk"), tenant_id, -micro, "job", job_id, kind, now_iso())


def balance(conn: sqlite3.Connection, tenant_id: str) -> dict[str, Any]:
    return {"tenant_id": tenant_id, "credits": from_micro(balance_micro(conn, tenant_id))}


def usage(conn: sqlite3.Connection, tenant_id: str) -> dict[str, Any]:
    rows = credits_store.usage_by_kind(conn, tenant_id)
    by_kind = [{"kind": r["note"], "jobs": r["jobs"], "credits": from_micro(r["micro"])} for r in rows]
    return {
        "tenant_id": tenant_id,
        "total_credits": from_micro(sum(r["micro"] for r in rows)),
        "by_kind": by_kind,
        "balance": from_micro(balance_micro(conn, tenant_id)),
    }
