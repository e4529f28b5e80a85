"""Trained models and their evaluations (TSTR) for the synthesize/train kinds and the leaderboard.

A model row is written by its `train` job while it runs; it is visible only once that job has
succeeded (the queries join `jobs`), so a failed or canceled training leaves nothing behind.
`dataset_id` has no foreign key: a dataset may be deleted while the models trained on it stay.
"""

from __future__ import annotations

import sqlite3

SQL = """
CREATE TABLE models (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    job_id TEXT NOT NULL UNIQUE REFERENCES jobs(id),
    dataset_id TEXT NOT NULL,
    engine TEXT NOT NULL,
    synthesizer TEXT NOT NULL,
    device TEXT NOT NULL,
    artifact_blake3 TEXT NOT NULL,
    columns TEXT NOT NULL,
    metadata TEXT NOT NULL,
    source TEXT NOT NULL,
    training TEXT NOT NULL,
    quality_score REAL,
    created_at TEXT NOT NULL
);
CREATE INDEX models_tenant ON models(tenant_id, id);
CREATE INDEX models_dataset ON models(tenant_id, dataset_id, id);
CREATE TABLE evaluations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    job_id TEXT NOT NULL REFERENCES jobs(id),
    model_id TEXT REFERENCES models(id),
    dataset_id TEXT,
    target TEXT NOT NULL,
    task TEXT NOT NULL,
    metrics TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX evaluations_tenant ON evaluations(tenant_id, id);
CREATE INDEX evaluations_model ON evaluations(model_id, id);
"""


def up(conn: sqlite3.Connection) -> None:
    for statement in SQL.split(";"):
        if statement.strip():
            conn.execute(statement)
