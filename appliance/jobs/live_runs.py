"""Starting and stopping live SCADA runs: the part of a run that submits or cancels its `simulate` job.

The run itself (policy, ports, slots, the view, attacks, values) lives in `appliance.services.scada`;
this module puts the job engine on top of it, since services sit below the engine (docs/decisions.md).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from appliance.jobs import operations
from appliance.services import scada
from appliance.store.db import transaction


def start(
    conn: sqlite3.Connection,
    state_dir: Path,
    tenant_id: str,
    caller: str,
    body: dict[str, Any],
    policy: scada.LivePolicy,
) -> dict[str, Any]:
    """Reserve the run and record its live job (one attempt: a live run is never retried) in one
    transaction, then enqueue the job.

    Either both rows exist or neither does: a refused job (credits, validation) leaves no run behind,
    and no port or slot stays reserved by a run without a job. A queue that cannot take the job marks
    the job failed, which ends the run like any failed job."""
    with transaction(conn):
        run_id, job_request = scada.reserve(conn, tenant_id, body, policy)
        job = operations.record(conn, tenant_id, caller, job_request, max_attempts=1)
        scada.attach_job(conn, run_id, job["id"])
    operations.enqueue(conn, state_dir, job["id"])
    return scada.view(conn, scada.require(conn, tenant_id, run_id))


def stop(conn: sqlite3.Connection, tenant_id: str, run_id: str) -> dict[str, Any]:
    """A running run stops at its next tick and keeps its recording; one not yet started is canceled."""
    row = scada.require(conn, tenant_id, run_id)
    job = scada.live_job(conn, row)
    if job["status"] in ("created", "queued"):
        operations.cancel(conn, tenant_id, job["id"])
    else:
        scada.request_stop(conn, run_id)
    return scada.view(conn, row)
