"""SQL for webhooks: endpoints, the outbox (messages and their deliveries) and the attempt log.

The deliverer claims due deliveries by leasing them (``lease_owner`` names its process, so a
restarted deliverer can tell a dead owner's leases from a live one's); everything else is plain
reads and writes inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from appliance.store import pages
from appliance.store.db import fetch_all, fetch_one

_ENDPOINT_COLUMNS = (
    "id, tenant_id, url, description, events, enabled, status, status_reason, secret, previous_secret,"
    " previous_secret_until, consecutive_failures, failing_since, last_success_at, last_failure_at,"
    " created_at, updated_at"
)


def insert_endpoint(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO webhook_endpoints (id, tenant_id, url, description, events, enabled, secret, created_at,"
        " updated_at) VALUES (:id, :tenant_id, :url, :description, :events, :enabled, :secret, :created_at,"
        " :updated_at)",
        row,
    )


def get_endpoint(conn: sqlite3.Connection, endpoint_id: str, tenant_id: str | None = None) -> dict[str, Any] | None:
    if tenant_id is None:
        return fetch_one(conn, f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?", (endpoint_id,))
    return fetch_one(
        conn,
        f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ? AND tenant_id = ?",
        (endpoint_id, tenant_id),
    )


def page_endpoints(conn: sqlite3.Connection, tenant_id: str, limit: int, after: str | None) -> pages.Page:
    return pages.page(conn, "webhook_endpoints", {"tenant_id": tenant_id}, limit=limit, after=after)


def subscribed_endpoints(conn: sqlite3.Connection, tenant_id: str) -> list[tuple[str, str]]:
    """(id, events JSON) of the tenant's enabled endpoints: the one query every emitted event pays."""
    rows = conn.execute(
        "SELECT id, events FROM webhook_endpoints WHERE tenant_id = ? AND enabled = 1 AND status != 'disabled'",
        (tenant_id,),
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


def update_endpoint(conn: sqlite3.Connection, endpoint_id: str, changes: dict[str, Any]) -> None:
    if not changes:
        return
    assignments = ", ".join(f"{name} = :{name}" for name in changes)
    conn.execute(f"UPDATE webhook_endpoints SET {assignments} WHERE id = :_id", {**changes, "_id": endpoint_id})


def delete_endpoint(conn: sqlite3.Connection, endpoint_id: str) -> None:
    """The endpoint, its deliveries and attempts (cascade), and messages no delivery refers to any more."""
    message_ids = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT message_id FROM webhook_deliveries WHERE endpoint_id = ?", (endpoint_id,)
        ).fetchall()
    ]
    conn.execute("DELETE FROM webhook_endpoints WHERE id = ?", (endpoint_id,))
    for message_id in message_ids:
        conn.execute(
            "DELETE FROM webhook_messages WHERE id = ?"
            " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE message_id = ?)",
            (message_id, message_id),
        )


def insert_message(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO webhook_messages (id, tenant_id, type, body, created_at, committed_at)"
        " VALUES (:id, :tenant_id, :type, :body, :created_at, :committed_at)",
        row,
    )


def insert_deliveries(conn: sqlite3.Connection, rows: Iterable[dict[str, Any]]) -> None:
    conn.executemany(
        "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, message_id, due_at, next_attempt_at, created_at)"
        " VALUES (:id, :tenant_id, :endpoint_id, :message_id, :due_at, :next_attempt_at, :created_at)",
        list(rows),
    )


def deliverable_endpoint_ids(conn: sqlite3.Connection) -> list[str]:
    """Every tenant's endpoints that deliveries may go to now (enabled, not disabled by a 410)."""
    rows = conn.execute("SELECT id FROM webhook_endpoints WHERE enabled = 1 AND status != 'disabled'").fetchall()
    return [row[0] for row in rows]


def any_due(conn: sqlite3.Connection, now: float) -> bool:
    """Whether any delivery of any endpoint is due and not leased: the deliverer's idle poll, one
    index probe however many endpoints exist or retries wait for later."""
    row = conn.execute(
        "SELECT 1 FROM webhook_deliveries WHERE state = 'pending' AND due_at <= ?"
        " AND (lease_until IS NULL OR lease_until < ?) LIMIT 1",
        (now, now),
    ).fetchone()
    return row is not None


def due_deliveries(conn: sqlite3.Connection, endpoint_id: str, now: float, limit: int) -> list[dict[str, Any]]:
    """One endpoint's pending deliveries due by ``now`` and not leased (or with a lapsed lease),
    oldest due first, with what sending needs: the message and the endpoint's url and secrets."""
    return fetch_all(
        conn,
        "SELECT d.id, d.tenant_id, d.endpoint_id, d.message_id, d.attempts, d.due_at,"
        " m.type, m.body, m.committed_at, e.url, e.secret, e.previous_secret, e.previous_secret_until"
        " FROM webhook_deliveries d"
        " JOIN webhook_messages m ON m.id = d.message_id"
        " JOIN webhook_endpoints e ON e.id = d.endpoint_id"
        " WHERE d.endpoint_id = ? AND d.state = 'pending' AND d.due_at <= ?"
        " AND (d.lease_until IS NULL OR d.lease_until < ?)"
        " ORDER BY d.due_at LIMIT ?",
        (endpoint_id, now, now, limit),
    )


def lease_deliveries(
    conn: sqlite3.Connection, delivery_ids: list[str], owner: str, now: float, until: float
) -> set[str]:
    """Lease those of ``delivery_ids`` still pending and unleased (or with a lapsed lease) to
    ``owner`` until ``until``; returns the ids leased (another deliverer may have taken some)."""
    if not delivery_ids:
        return set()
    marks = ",".join("?" * len(delivery_ids))
    rows = conn.execute(
        f"UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ? WHERE id IN ({marks})"
        " AND state = 'pending' AND (lease_until IS NULL OR lease_until < ?) RETURNING id",
        (owner, until, *delivery_ids, now),
    ).fetchall()
    return {row[0] for row in rows}


def lease_owners(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT lease_owner FROM webhook_deliveries WHERE state = 'pending' AND lease_owner IS NOT NULL"
    ).fetchall()
    return [row[0] for row in rows]


def clear_leases(conn: sqlite3.Connection, owner: str) -> int:
    cursor = conn.execute(
        "UPDATE webhook_deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?", (owner,)
    )
    return cursor.rowcount


def get_delivery(conn: sqlite3.Connection, delivery_id: str, tenant_id: str | None = None) -> dict[str, Any] | None:
    sql = (
        "SELECT d.*, m.type, m.created_at AS event_created_at FROM webhook_deliveries d"
        " JOIN webhook_messages m ON m.id = d.message_id WHERE d.id = ?"
    )
    if tenant_id is None:
        return fetch_one(conn, sql, (delivery_id,))
    return fetch_one(conn, sql + " AND d.tenant_id = ?", (delivery_id, tenant_id))


def page_deliveries(
    conn: sqlite3.Connection, tenant_id: str, endpoint_id: str, limit: int, after: str | None
) -> pages.Page:
    """The endpoint's deliveries, newest first, each with its message's event type and time."""
    page = pages.page(
        conn,
        "webhook_deliveries",
        {"tenant_id": tenant_id, "endpoint_id": endpoint_id},
        limit=limit,
        after=after,
        descending=True,
    )
    message_ids = sorted({row["message_id"] for row in page.data})
    messages = {
        row["id"]: row
        for row in fetch_all(
            conn,
            f"SELECT id, type, created_at FROM webhook_messages WHERE id IN ({','.join('?' * len(message_ids))})",
            tuple(message_ids),
        )
    }
    for row in page.data:
        message = messages.get(row["message_id"]) or {}
        row["type"] = message.get("type")
        row["event_created_at"] = message.get("created_at")
    return page


def attempts_of(conn: sqlite3.Connection, delivery_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every attempt of each delivery, in order."""
    found: dict[str, list[dict[str, Any]]] = {delivery_id: [] for delivery_id in delivery_ids}
    if not delivery_ids:
        return found
    rows = fetch_all(
        conn,
        f"SELECT * FROM webhook_attempts WHERE delivery_id IN ({','.join('?' * len(delivery_ids))}) ORDER BY id",
        tuple(delivery_ids),
    )
    for row in rows:
        found[row["delivery_id"]].append(row)
    return found


def record_attempts(
    conn: sqlite3.Connection, deliveries: list[dict[str, Any]], attempts: list[dict[str, Any]]
) -> None:
    """Each delivery's new state (its lease given up) and each attempt's log row; an attempt of a
    delivery that no longer exists (its endpoint deleted meanwhile) is dropped."""
    conn.executemany(
        "UPDATE webhook_deliveries SET attempts = :attempts, last_status = :last_status, last_error = :last_error,"
        " state = :state, finished_at = :finished_at, due_at = :due_at, next_attempt_at = :next_attempt_at,"
        " lease_owner = NULL, lease_until = NULL WHERE id = :id",
        deliveries,
    )
    conn.executemany(
        "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status_code, latency_ms, error,"
        " response_excerpt, next_retry_at) SELECT :delivery_id, :attempt, :started_at, :status_code, :latency_ms,"
        " :error, :response_excerpt, :next_retry_at"
        " WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = :delivery_id)",
        attempts,
    )


def update_delivery(conn: sqlite3.Connection, delivery_id: str, changes: dict[str, Any]) -> bool:
    """Whether the delivery (still) exists."""
    assignments = ", ".join(f"{name} = :{name}" for name in changes)
    cursor = conn.execute(
        f"UPDATE webhook_deliveries SET {assignments} WHERE id = :_id", {**changes, "_id": delivery_id}
    )
    return cursor.rowcount > 0


def fail_pending_of_endpoint(conn: sqlite3.Connection, endpoint_id: str, at: str, reason: str) -> int:
    """End every pending delivery of an endpoint (it answered 410 Gone: nobody is listening)."""
    cursor = conn.execute(
        "UPDATE webhook_deliveries SET state = 'failed', finished_at = ?, last_error = ?, lease_owner = NULL,"
        " lease_until = NULL, next_attempt_at = NULL WHERE endpoint_id = ? AND state = 'pending'",
        (at, reason, endpoint_id),
    )
    return cursor.rowcount


def delivery_counts(conn: sqlite3.Connection, endpoint_id: str) -> dict[str, int]:
    rows = conn.execute(
        "SELECT state, COUNT(*) FROM webhook_deliveries WHERE endpoint_id = ? GROUP BY state", (endpoint_id,)
    ).fetchall()
    counts = {"pending": 0, "delivered": 0, "failed": 0}
    counts.update({row[0]: int(row[1]) for row in rows})
    return counts


def prune(conn: sqlite3.Connection, finished_before: str) -> int:
    """Remove deliveries that ended before ``finished_before`` (their attempts go with them) and
    the messages left without a delivery; returns the deliveries removed."""
    cursor = conn.execute(
        "DELETE FROM webhook_deliveries WHERE state != 'pending' AND finished_at < ?", (finished_before,)
    )
    conn.execute(
        "DELETE FROM webhook_messages WHERE NOT EXISTS"
        " (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = webhook_messages.id)"
    )
    return cursor.rowcount


def health_counts(conn: sqlite3.Connection) -> tuple[dict[str, int], int]:
    """Endpoints by status, over all tenants, and the deliveries still pending: for /metrics."""
    statuses = {"active": 0, "failing": 0, "disabled": 0}
    for status, count in conn.execute("SELECT status, COUNT(*) FROM webhook_endpoints GROUP BY status"):
        statuses[str(status)] = int(count)
    pending = conn.execute("SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'").fetchone()[0]
    return statuses, int(pending)
