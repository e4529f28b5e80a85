"""Webhook endpoints as the API manages them: register, list, read, change, delete, rotate the
secret, read the delivery log, redeliver, and send a test ping.

The secret is shown twice only: in the answer that creates it and in the answer of a rotation.
It is stored sealed (`secretbox`), since the deliverer needs it back to sign.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from appliance import errors
from appliance.clock import iso, now_iso
from appliance.errors import AppError
from appliance.ids import new_id
from appliance.services.webhooks import outbox, secretbox, signing
from appliance.services.webhooks.destinations import DestinationRefused
from appliance.services.webhooks.settings import Settings
from appliance.store import webhooks as webhooks_store
from appliance.store.db import transaction


def _not_found(what: str, ident: str) -> AppError:
    return AppError(errors.WEBHOOK_NOT_FOUND, f"{what} {ident!r} was not found.")


def check_url(settings: Settings, url: str) -> None:
    try:
        settings.policy.check(url)
    except DestinationRefused as exc:
        raise AppError(
            errors.WEBHOOK_URL_NOT_ALLOWED, f"url: {exc}", details=[errors.FieldError("url", str(exc))]
        ) from exc


def check_events(events: list[str]) -> list[str]:
    if not events:
        raise errors.validation("events", "name at least one event type")
    for index, name in enumerate(events):
        problem = outbox.event_type_problem(name)
        if problem:
            raise errors.validation(f"events.{index}", problem)
    return list(dict.fromkeys(events))


def view(row: dict[str, Any]) -> dict[str, Any]:
    base = f"/v1/webhooks/{row['id']}"
    until = row["previous_secret_until"]
    return {
        "id": row["id"],
        "url": row["url"],
        "description": row["description"],
        "events": json.loads(row["events"]),
        "enabled": bool(row["enabled"]),
        "status": row["status"],
        "status_reason": row["status_reason"],
        "failing_since": row["failing_since"],
        "consecutive_failures": row["consecutive_failures"],
        "last_success_at": row["last_success_at"],
        "last_failure_at": row["last_failure_at"],
        "previous_secret_valid_until": until if row["previous_secret"] and until and until > now_iso() else None,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "_links": {
            "self": base,
            "deliveries": f"{base}/deliveries",
            "test": f"{base}/test",
            "rotate": f"{base}/rotate",
        },
    }


def require(conn: sqlite3.Connection, tenant_id: str, endpoint_id: str) -> dict[str, Any]:
    row = webhooks_store.get_endpoint(conn, endpoint_id, tenant_id)
    if row is None:
        raise _not_found("webhook endpoint", endpoint_id)
    return row


def create(
    conn: sqlite3.Connection, keys_dir: Path, settings: Settings, tenant_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Register an endpoint; the answer carries its secret, which is not shown again."""
    check_url(settings, body["url"])
    events = check_events(body["events"])
    endpoint_id = new_id("wh")
    secret = signing.new_secret()
    now = now_iso()
    with transaction(conn):
        page = webhooks_store.page_endpoints(conn, tenant_id, settings.max_endpoints, None)
        if len(page.data) >= settings.max_endpoints:
            raise AppError(errors.WEBHOOK_LIMIT, f"the tenant has {settings.max_endpoints} endpoints already")
        webhooks_store.insert_endpoint(
            conn,
            {
                "id": endpoint_id,
                "tenant_id": tenant_id,
                "url": body["url"],
                "description": body.get("description") or "",
                "events": json.dumps(events),
                "enabled": 1 if body.get("enabled", True) else 0,
                "secret": secretbox.seal(keys_dir, endpoint_id, secret),
                "created_at": now,
                "updated_at": now,
            },
        )
    return {**view(require(conn, tenant_id, endpoint_id)), "secret": secret}


def listing(conn: sqlite3.Connection, tenant_id: str, limit: int, after: str | None) -> dict[str, Any]:
    return webhooks_store.page_endpoints(conn, tenant_id, limit, after).listing(view)


def get(conn: sqlite3.Connection, tenant_id: str, endpoint_id: str) -> dict[str, Any]:
    return view(require(conn, tenant_id, endpoint_id))


def update(
    conn: sqlite3.Connection, settings: Settings, tenant_id: str, endpoint_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Change the URL, events, description or enabled flag. Enabling an endpoint that was failing or
    disabled by a 410 starts it afresh (`active`, no failures counted)."""
    if "url" in body:
        check_url(settings, body["url"])
    changes: dict[str, Any] = {}
    if "events" in body:
        changes["events"] = json.dumps(check_events(body["events"]))
    for field in ("url", "description"):
        if field in body:
            changes[field] = body[field]
    with transaction(conn):
        row = require(conn, tenant_id, endpoint_id)
        if "enabled" in body:
            changes["enabled"] = 1 if body["enabled"] else 0
            if body["enabled"] and (not row["enabled"] or row["status"] != "active"):
                changes |= {"status": "active", "status_reason": None, "failing_since": None, "consecutive_failures": 0}
        if changes:
            changes["updated_at"] = now_iso()
            webhooks_store.update_endpoint(conn, endpoint_id, changes)
    return get(conn, tenant_id, endpoint_id)


def delete(conn: sqlite3.Connection, tenant_id: str, endpoint_id: str) -> dict[str, Any]:
    """Remove the endpoint with its delivery log; pending deliveries to it are dropped."""
    with transaction(conn):
        shown = view(require(conn, tenant_id, endpoint_id))
        webhooks_store.delete_endpoint(conn, endpoint_id)
    return shown


def rotate(
    conn: sqlite3.Connection, keys_dir: Path, settings: Settings, tenant_id: str, endpoint_id: str
) -> dict[str, Any]:
    """A new secret; the current one keeps signing beside it for `rotation_grace_h` (a second
    rotation within the grace period retires the oldest one at once)."""
    secret = signing.new_secret()
    with transaction(conn):
        row = require(conn, tenant_id, endpoint_id)
        now = time.time()
        webhooks_store.update_endpoint(
            conn,
            endpoint_id,
            {
                "secret": secretbox.seal(keys_dir, endpoint_id, secret),
                "previous_secret": row["secret"],
                "previous_secret_until": iso(now + settings.rotation_grace_s),
                "updated_at": iso(now),
            },
        )
    return {**get(conn, tenant_id, endpoint_id), "secret": secret}


def delivery_view(row: dict[str, Any], attempts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "endpoint_id": row["endpoint_id"],
        "message_id": row["message_id"],
        "event": row["type"],
        "event_created_at": row["event_created_at"],
        "state": row["state"],
        "attempt_count": row["attempts"],
        "next_retry_at": row["next_attempt_at"] if row["state"] == "pending" else None,
        "last_status_code": row["last_status"],
        "last_error": row["last_error"],
        "created_at": row["created_at"],
        "finished_at": row["finished_at"],
        "attempts": [
            {
                "attempt": a["attempt"],
                "started_at": a["started_at"],
                "status_code": a["status_code"],
                "latency_ms": a["latency_ms"],
                "error": a["error"],
                "response_excerpt": a["response_excerpt"],
                "next_retry_at": a["next_retry_at"],
            }
            for a in attempts
        ],
    }


def deliveries(
    conn: sqlite3.Connection, tenant_id: str, endpoint_id: str, limit: int, after: str | None
) -> dict[str, Any]:
    """The endpoint's deliveries, newest first, each with every attempt."""
    require(conn, tenant_id, endpoint_id)
    page = webhooks_store.page_deliveries(conn, tenant_id, endpoint_id, limit, after)
    attempts = webhooks_store.attempts_of(conn, [row["id"] for row in page.data])
    return page.listing(lambda row: delivery_view(row, attempts[row["id"]]))


def get_delivery(conn: sqlite3.Connection, tenant_id: str, endpoint_id: str, delivery_id: str) -> dict[str, Any]:
    row = webhooks_store.get_delivery(conn, delivery_id, tenant_id)
    if row is None or row["endpoint_id"] != endpoint_id:
        raise _not_found("webhook delivery", delivery_id)
    return delivery_view(row, webhooks_store.attempts_of(conn, [delivery_id])[delivery_id])


def redeliver(conn: sqlite3.Connection, tenant_id: str, endpoint_id: str, delivery_id: str) -> dict[str, Any]:
    """Send the same message (same `webhook-id`) again now, whatever the delivery's state; its
    attempts so far stay in the log."""
    with transaction(conn):
        require(conn, tenant_id, endpoint_id)
        get_delivery(conn, tenant_id, endpoint_id, delivery_id)
        webhooks_store.update_delivery(
            conn,
            delivery_id,
            {"state": "pending", "due_at": time.time(), "next_attempt_at": now_iso(), "finished_at": None},
        )
    return get_delivery(conn, tenant_id, endpoint_id, delivery_id)


def send_test(conn: sqlite3.Connection, tenant_id: str, endpoint_id: str) -> dict[str, Any]:
    """Queue a `webhook.test` message to this endpoint only; answers its delivery (pending)."""
    with transaction(conn):
        row = require(conn, tenant_id, endpoint_id)
        resource = {"endpoint_id": endpoint_id, "url": row["url"], "message": "ping from Sealforge"}
        outbox.enqueue(conn, tenant_id, "webhook.test", resource, [endpoint_id])
        newest = webhooks_store.page_deliveries(conn, tenant_id, endpoint_id, 1, None).data[0]
    return delivery_view(newest, [])
