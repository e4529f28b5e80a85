"""The outbox: an event becomes a message and one delivery per subscribed endpoint, written in the
caller's transaction, the one that makes the change the event announces.

That is the whole guarantee against loss: the change and its deliveries commit together or not at
all, so a kill -9 between the commit and the send leaves `pending` deliveries for the deliverer to
send after the restart. `emit` is called from the engine's and the services' write paths, so it
must stay cheap for the common tenant with no endpoint: one indexed read, and the payload is only
built (``resource`` may be a function) when some endpoint wants the event.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

from appliance.clock import now_iso
from appliance.ids import new_id
from appliance.store import webhooks as webhooks_store

EVENT_TYPES = (
    "job.created",
    "job.queued",
    "job.running",
    "job.succeeded",
    "job.failed",
    "job.canceled",
    "job.<kind>.completed",
    "seal.appended",
    "scada.run.started",
    "scada.run.stopped",
    "scada.run.paused",
    "scada.run.resumed",
    "scada.alarm.raised",
    "scada.alarm.cleared",
    "dataset.created",
    "dataset.deleted",
    "webhook.test",
)
_KIND_COMPLETED = re.compile(r"^job\.[a-z][a-z0-9_]*\.completed$")
_PATTERN = re.compile(r"^(\*|[a-z]+(\.[a-z_]+)*\.\*)$")

Resource = dict[str, Any] | Callable[[], dict[str, Any]]


def event_type_problem(name: str) -> str | None:
    """Why ``name`` cannot be subscribed to, or None: a listed type, `job.<kind>.completed`, `*`,
    or a prefix pattern such as `job.*` or `scada.alarm.*`."""
    if name in EVENT_TYPES and name != "job.<kind>.completed":
        return None
    if _KIND_COMPLETED.match(name) or _PATTERN.match(name):
        return None
    return f"unknown event type {name!r}; one of {', '.join(EVENT_TYPES)}, or a pattern such as job.* or *"


def matches(subscribed: Iterable[str], event_type: str) -> bool:
    for pattern in subscribed:
        if pattern == event_type or pattern == "*":
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def message_body(msg_id: str, event_type: str, created_at: str, resource: dict[str, Any]) -> str:
    """The bytes every delivery of the message sends (and signs): compact JSON, keys in order."""
    envelope = {"id": msg_id, "type": event_type, "created_at": created_at, "data": resource}
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True, default=str)


def emit(conn: sqlite3.Connection, tenant_id: str, event_type: str, resource: Resource) -> str | None:
    """Queue ``event_type`` for every enabled endpoint of the tenant that subscribes to it; returns
    the message id (the deliveries' `webhook-id`), or None when no endpoint wants it.

    Must run inside the transaction of the change it announces."""
    if not conn.in_transaction:
        raise RuntimeError("webhooks.emit needs the caller's write transaction")
    endpoint_ids = [
        endpoint_id
        for endpoint_id, events in webhooks_store.subscribed_endpoints(conn, tenant_id)
        if matches(json.loads(events), event_type)
    ]
    if not endpoint_ids:
        return None
    return enqueue(conn, tenant_id, event_type, resource() if callable(resource) else resource, endpoint_ids)


def enqueue(
    conn: sqlite3.Connection, tenant_id: str, event_type: str, resource: dict[str, Any], endpoint_ids: list[str]
) -> str:
    """One message and a pending delivery of it to each endpoint, due now."""
    msg_id = new_id("msg")
    created_at = now_iso()
    now = time.time()
    webhooks_store.insert_message(
        conn,
        {
            "id": msg_id,
            "tenant_id": tenant_id,
            "type": event_type,
            "body": message_body(msg_id, event_type, created_at, resource),
            "created_at": created_at,
            "committed_at": now,
        },
    )
    webhooks_store.insert_deliveries(
        conn,
        (
            {
                "id": new_id("dlv"),
                "tenant_id": tenant_id,
                "endpoint_id": endpoint_id,
                "message_id": msg_id,
                "due_at": now,
                "next_attempt_at": created_at,
                "created_at": created_at,
            }
            for endpoint_id in endpoint_ids
        ),
    )
    return msg_id
