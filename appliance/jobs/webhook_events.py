"""The job engine's webhook events, emitted in the transaction of each state move.

`job.<status>` for every move (and `job.created` for the new row), `job.<kind>.completed` when a
job succeeds (the pages' `job.synthesize.completed`), and `scada.run.stopped` when a live run's job
ends. The payload is the job (or run) as the API shows it, read inside the same transaction, so it
is exactly the state the event announces. `lifecycle` calls this module, and `operations` (which
renders the job) imports `lifecycle`, hence the import of `operations` inside the function.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from appliance.evidence.operations import seal_view
from appliance.services import scada, webhooks
from appliance.store import jobs as jobs_store
from appliance.store import scada as scada_store

TERMINAL = frozenset({"succeeded", "failed", "canceled"})


def _once(make: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    made: list[dict[str, Any]] = []

    def get() -> dict[str, Any]:
        if not made:
            made.append(make())
        return made[0]

    return get


def job_moved(conn: sqlite3.Connection, job_id: str, tenant_id: str, kind: str, status: str) -> None:
    """Emit the events of a job that has just moved to (or been created in) ``status``."""

    def job_view() -> dict[str, Any]:
        from appliance.jobs.operations import view

        row = jobs_store.get_job(conn, job_id)
        assert row is not None
        return view(row)

    resource = _once(job_view)
    webhooks.emit(conn, tenant_id, f"job.{status}", resource)
    if status == "succeeded":
        webhooks.emit(conn, tenant_id, f"job.{kind}.completed", resource)
    if status in TERMINAL and kind == "simulate":
        run_id = _live_run_id(conn, job_id)
        if run_id is not None:
            webhooks.emit(conn, tenant_id, "scada.run.stopped", _once(lambda: run_view(conn, tenant_id, run_id)))


def _live_run_id(conn: sqlite3.Connection, job_id: str) -> str | None:
    row = jobs_store.get_job(conn, job_id)
    live = json.loads(row["contract"])["params"].get("live") if row else None
    return str(live["run_id"]) if isinstance(live, dict) and live.get("run_id") else None


def run_view(conn: sqlite3.Connection, tenant_id: str, run_id: str) -> dict[str, Any]:
    row = scada_store.get_run(conn, run_id, tenant_id)
    assert row is not None
    return scada.view(conn, row)


def seal_appended(conn: sqlite3.Connection, job: dict[str, Any], seal: dict[str, Any]) -> None:
    """`seal.appended`, the seal as `GET /v1/seals/{id}` shows it (with its signed envelope), in the
    success transaction."""
    def resource() -> dict[str, Any]:
        return seal_view({**seal, "contract_hash": job["contract_hash"]}, with_envelope=True)

    webhooks.emit(conn, job["tenant_id"], "seal.appended", resource)
