"""Webhooks (issue #16): endpoints, the outbox of messages, one delivery per message and endpoint,
and the log of every attempt.

The outbox is what makes delivery survive a crash: a message and its deliveries are inserted in
the same transaction as the state change they announce, so a commit is never without its
deliveries, and the deliverer (its own process) sends whatever is still `pending` after a restart.
`due_at` and `lease_until` are Unix seconds, since the deliverer compares them with its clock on
every poll; the times shown to people are RFC 3339 columns beside them.
"""

from __future__ import annotations

import sqlite3

SQL = """
        CREATE TABLE webhook_endpoints (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants(id),
            url TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            events TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'failing', 'disabled')),
            status_reason TEXT,
            secret TEXT NOT NULL,
            previous_secret TEXT,
            previous_secret_until TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            failing_since TEXT,
            last_success_at TEXT,
            last_failure_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX webhook_endpoints_by_tenant ON webhook_endpoints (tenant_id, enabled);

        CREATE TABLE webhook_messages (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            type TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL,
            committed_at REAL NOT NULL
        );

        CREATE TABLE webhook_deliveries (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
            message_id TEXT NOT NULL REFERENCES webhook_messages(id),
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            due_at REAL NOT NULL,
            next_attempt_at TEXT,
            lease_owner TEXT,
            lease_until REAL,
            last_status INTEGER,
            last_error TEXT,
            created_at TEXT NOT NULL,
            finished_at TEXT
        );
        CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, due_at) WHERE state = 'pending';
        CREATE INDEX webhook_deliveries_next ON webhook_deliveries (due_at) WHERE state = 'pending';
        CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);
        CREATE INDEX webhook_deliveries_by_message ON webhook_deliveries (message_id);

        CREATE TABLE webhook_attempts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
            attempt INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            status_code INTEGER,
            latency_ms REAL,
            error TEXT,
            response_excerpt TEXT,
            next_retry_at TEXT
        );
        CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id)
"""


def up(conn: sqlite3.Connection) -> None:
    for statement in SQL.split(";"):
        if statement.strip():
            conn.execute(statement)
