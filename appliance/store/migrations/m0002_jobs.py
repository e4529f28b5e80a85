"""Jobs, their event journal, artifacts, datasets (the inputs jobs refer to) and the credit ledger."""

from __future__ import annotations

import sqlite3

SQL = """
CREATE TABLE datasets (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    format TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    blake3 TEXT NOT NULL,
    rows INTEGER,
    columns TEXT,
    source_job_id TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX datasets_tenant ON datasets(tenant_id, id);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    queue TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('created', 'queued', 'running', 'succeeded', 'failed', 'canceled')),
    description TEXT NOT NULL DEFAULT '',
    contract TEXT NOT NULL,
    contract_hash TEXT NOT NULL,
    estimate_micro INTEGER NOT NULL,
    estimate_seconds REAL NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    rows INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    result TEXT,
    error_code TEXT,
    error_message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    lease_expires REAL,
    worker TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    rerun_of TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
CREATE INDEX jobs_tenant ON jobs(tenant_id, id);
CREATE INDEX jobs_running ON jobs(status, lease_expires);
CREATE TABLE job_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL REFERENCES jobs(id),
    at TEXT NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX job_events_job ON job_events(job_id, seq);
CREATE TABLE artifacts (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    job_id TEXT NOT NULL REFERENCES jobs(id),
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    blake3 TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX artifacts_job ON artifacts(job_id, id);
CREATE INDEX artifacts_tenant ON artifacts(tenant_id, id);
CREATE TABLE credit_ledger (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    delta_micro INTEGER NOT NULL,
    reason TEXT NOT NULL,
    job_id TEXT,
    note TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
CREATE INDEX credit_ledger_tenant ON credit_ledger(tenant_id, reason);
"""


def up(conn: sqlite3.Connection) -> None:
    for statement in SQL.split(";"):
        if statement.strip():
            conn.execute(statement)
