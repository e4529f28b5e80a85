"""The job state machine and its journal.

``created → queued → running → succeeded | failed | canceled``; ``created``/``queued`` may also
end in ``canceled`` (or ``failed`` if the queue refuses the task), and lease recovery moves
``running → queued`` for a retry. Every move is checked here and written to the events journal in
the same transaction, so the stream can never disagree with the row; its webhook events are
queued in that transaction too (`webhook_events`).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.clock import now_iso
from appliance.jobs import webhook_events
from appliance.store import jobs as jobs_store

TERMINAL = frozenset({"succeeded", "failed", "canceled"})
ALLOWED: dict[str, frozenset[str]] = {
    "created": frozenset({"queued", "canceled", "failed"}),
    "queued": frozenset({"running", "canceled", "failed"}),
    "running": frozenset({"succeeded", "failed", "canceled", "queued"}),
    "succeeded": frozenset(),
    "failed": frozenset(),
    "canceled": frozenset(),
}


class IllegalTransition(Exception):
    pass


def move(conn: sqlite3.Connection, job: dict[str, Any], to: str, reason: str = "", **fields: Any) -> dict[str, Any]:
    """Move ``job`` to ``to`` (caller holds a write transaction); returns the updated row."""
    current = job["status"]
    if to not in ALLOWED[current]:
        raise IllegalTransition(f"{job['id']}: {current} → {to} is not allowed")
    now = now_iso()
    changes: dict[str, Any] = {"status": to, **fields}
    if to in TERMINAL:
        changes["finished_at"] = now
        changes["lease_expires"] = None
    jobs_store.update_job(conn, job["id"], changes)
    data: dict[str, Any] = {"status": to, "from": current}
    if reason:
        data["reason"] = reason
    jobs_store.add_event(conn, job["id"], now, "status", data)
    webhook_events.job_moved(conn, job["id"], job["tenant_id"], job["kind"], to)
    return {**job, **changes}


def record_progress(conn: sqlite3.Connection, job_id: str, fraction: float, rows: int, message: str) -> None:
    jobs_store.update_job(conn, job_id, {"progress": fraction, "rows": rows, "message": message})
    event = {"progress": round(fraction, 4), "rows": rows, "message": message}
    jobs_store.add_event(conn, job_id, now_iso(), "progress", event)
