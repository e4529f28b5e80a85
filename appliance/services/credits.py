"""Credits: 1 credit = 1,000,000 generated rows, so one row costs one micro-credit.

Balances and the ledger are kept in integer micro-credits to avoid float drift; the API shows
credits as decimals. Jobs are charged only when they succeed.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
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


DEFAULT_PLAN = "standard"
"""The plan of a tenant whose row has no tier (an appliance older than the tenant tiers)."""
PERIOD_BASIS = "calendar_month_utc"


def billing_period(at: datetime) -> tuple[datetime, datetime]:
    """The billing period holding ``at``: its calendar month in UTC, [first day 00:00, next first day)."""
    start = at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def _iso(at: datetime) -> str:
    """The store's time format (``appliance.clock``), so ledger times compare as strings."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def billing(conn: sqlite3.Connection, tenant_id: str, at: datetime) -> dict[str, Any]:
    """The subscription-style summary of ``GET /v1/billing``: plan, balance, and the usage of the
    billing period holding ``at`` (the calendar month, UTC). Offline there is nothing to subscribe
    to: the plan is the tenant's tier, and credits come from the operator's top-ups."""
    row = credits_store.tenant(conn, tenant_id)
    if row is None:
        raise errors.not_found("tenant", tenant_id)
    start, end = billing_period(at)
    used = credits_store.period_usage(conn, tenant_id, _iso(start), _iso(end))
    return {
        "tenant_id": tenant_id,
        "plan": row.get("tier") or DEFAULT_PLAN,
        "credit_balance": from_micro(int(row["credits_micro"])),
        "period": {"start": _iso(start), "end": _iso(end), "basis": PERIOD_BASIS},
        "period_usage": {"credits": from_micro(int(used["micro"])), "jobs": used["jobs"], "rows": used["rows"]},
        "_links": {
            "self": "/v1/billing",
            "usage": "/v1/usage",
            "balance": "/v1/billing/balance",
            "estimate": "/v1/estimate",
            "topup": "/v1/billing/topup",
        },
    }


def _charge_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "job_id": row["job_id"],
        "kind": row["kind"],
        "rows": row["rows"],
        "credits": from_micro(int(row["micro"])),
        "finished_at": row["finished_at"],
        "charged_at": row["charged_at"],
    }


def usage_history(conn: sqlite3.Connection, tenant_id: str, limit: int, after: str | None) -> dict[str, Any]:
    """``GET /v1/usage``: one page of charges (oldest first) beside the by-kind summary of them all,
    so callers of the summary-only answer keep finding ``by_kind``, ``total_credits`` and ``balance``."""
    page = credits_store.usage_history(conn, tenant_id, limit, after)
    return {**page.listing(_charge_view), **usage(conn, tenant_id)}
