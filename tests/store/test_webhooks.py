"""The webhooks tables: endpoints per tenant, the outbox rows, leases, the attempt log, cascades
and pruning."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import pytest

from appliance.ids import new_id
from appliance.store import webhooks as webhooks_store
from appliance.store.db import fetch_one, transaction


def endpoint(conn: sqlite3.Connection, tenant_id: str, events: str = '["*"]', enabled: int = 1) -> str:
    endpoint_id = new_id("wh")
    with transaction(conn):
        webhooks_store.insert_endpoint(
            conn,
            {
                "id": endpoint_id,
                "tenant_id": tenant_id,
                "url": "http://127.0.0.1:9/",
                "description": "",
                "events": events,
                "enabled": enabled,
                "secret": "v1:sealed",
                "created_at": "2026-01-01T00:00:00.000Z",
                "updated_at": "2026-01-01T00:00:00.000Z",
            },
        )
    return endpoint_id


def message(conn: sqlite3.Connection, tenant_id: str, endpoint_ids: list[str], due: float | None = None) -> str:
    msg_id = new_id("msg")
    now = time.time() if due is None else due
    with transaction(conn):
        webhooks_store.insert_message(
            conn,
            {"id": msg_id, "tenant_id": tenant_id, "type": "webhook.test", "body": "{}",
             "created_at": "2026-01-01T00:00:00.000Z", "committed_at": now},
        )
        webhooks_store.insert_deliveries(
            conn,
            [
                {"id": new_id("dlv"), "tenant_id": tenant_id, "endpoint_id": e, "message_id": msg_id, "due_at": now,
                 "next_attempt_at": "2026-01-01T00:00:00.000Z", "created_at": "2026-01-01T00:00:00.000Z"}
                for e in endpoint_ids
            ],
        )
    return msg_id


def test_endpoints_belong_to_their_tenant(
    conn: sqlite3.Connection, acme: dict[str, Any], globex: dict[str, Any]
) -> None:
    mine = endpoint(conn, acme["id"])
    endpoint(conn, acme["id"], enabled=0)
    assert webhooks_store.get_endpoint(conn, mine, acme["id"]) is not None
    assert webhooks_store.get_endpoint(conn, mine, globex["id"]) is None
    assert [e for e, _ in webhooks_store.subscribed_endpoints(conn, acme["id"])] == [mine]
    assert webhooks_store.subscribed_endpoints(conn, globex["id"]) == []
    assert webhooks_store.page_endpoints(conn, acme["id"], 10, None).data[0]["id"] == mine


def test_due_deliveries_are_leased_once(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    hook = endpoint(conn, acme["id"])
    message(conn, acme["id"], [hook])
    message(conn, acme["id"], [hook], due=time.time() + 3600)  # not due yet
    now = time.time()
    with transaction(conn):
        due = webhooks_store.due_deliveries(conn, hook, now, 10)
        assert len(due) == 1 and due[0]["url"] == "http://127.0.0.1:9/" and due[0]["body"] == "{}"
        assert webhooks_store.lease_deliveries(conn, [due[0]["id"]], "me", now, now + 60) == {due[0]["id"]}
        assert webhooks_store.lease_deliveries(conn, [due[0]["id"]], "other", now, now + 60) == set()
    assert webhooks_store.due_deliveries(conn, hook, now, 10) == []
    assert not webhooks_store.any_due(conn, now) and webhooks_store.any_due(conn, now + 61)
    assert webhooks_store.due_deliveries(conn, hook, now + 61, 10)[0]["id"] == due[0]["id"]  # a lapsed lease
    assert webhooks_store.lease_owners(conn) == ["me"]
    with transaction(conn):
        assert webhooks_store.clear_leases(conn, "me") == 1
    assert len(webhooks_store.due_deliveries(conn, hook, now, 10)) == 1


def test_deleting_an_endpoint_takes_its_log_and_orphaned_messages(
    conn: sqlite3.Connection, acme: dict[str, Any]
) -> None:
    one, two = endpoint(conn, acme["id"]), endpoint(conn, acme["id"])
    shared = message(conn, acme["id"], [one, two])
    only = message(conn, acme["id"], [one])
    delivery = webhooks_store.page_deliveries(conn, acme["id"], one, 10, None).data[0]
    with transaction(conn):
        webhooks_store.record_attempts(
            conn,
            [{"id": delivery["id"], "attempts": 1, "last_status": 500, "last_error": "e", "state": "pending",
              "finished_at": None, "due_at": time.time() + 5, "next_attempt_at": "x"}],
            [{"delivery_id": delivery["id"], "attempt": 1, "started_at": "x", "status_code": 500, "latency_ms": 1.0,
              "error": "e", "response_excerpt": "", "next_retry_at": "x"}],
        )
        assert fetch_one(conn, "SELECT COUNT(*) AS n FROM webhook_attempts") == {"n": 1}
        webhooks_store.delete_endpoint(conn, one)
    assert fetch_one(conn, "SELECT COUNT(*) AS n FROM webhook_attempts") == {"n": 0}
    assert fetch_one(conn, "SELECT id FROM webhook_messages WHERE id = ?", (only,)) is None
    assert fetch_one(conn, "SELECT id FROM webhook_messages WHERE id = ?", (shared,)) == {"id": shared}


def test_a_410_ends_every_pending_delivery(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    hook = endpoint(conn, acme["id"])
    for _ in range(3):
        message(conn, acme["id"], [hook])
    with transaction(conn):
        assert webhooks_store.fail_pending_of_endpoint(conn, hook, "2026-01-01T00:00:00.000Z", "gone") == 3
    assert webhooks_store.delivery_counts(conn, hook) == {"pending": 0, "delivered": 0, "failed": 3}


def test_prune_removes_old_finished_deliveries_only(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    hook = endpoint(conn, acme["id"])
    old, recent, pending = (message(conn, acme["id"], [hook]) for _ in range(3))
    rows = {r["message_id"]: r["id"] for r in webhooks_store.page_deliveries(conn, acme["id"], hook, 10, None).data}
    with transaction(conn):
        webhooks_store.update_delivery(conn, rows[old], {"state": "delivered", "finished_at": "2026-01-01T00:00Z"})
        webhooks_store.update_delivery(conn, rows[recent], {"state": "failed", "finished_at": "2026-06-01T00:00Z"})
        assert webhooks_store.prune(conn, "2026-03-01T00:00:00.000Z") == 1
    left = {r["message_id"] for r in webhooks_store.page_deliveries(conn, acme["id"], hook, 10, None).data}
    assert left == {recent, pending}
    assert fetch_one(conn, "SELECT id FROM webhook_messages WHERE id = ?", (old,)) is None


def test_an_unknown_endpoint_cannot_get_deliveries(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        message(conn, acme["id"], ["wh_missing"])
