"""`appliance.store.jobs`: tenant-scoped reads, the event journal's order, leases and artifacts.

Jobs are recorded through `operations.record` (what the API's submit does before enqueueing) and
moved through `lifecycle.move`, so the rows are the ones the app writes.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from appliance.clock import now_iso
from appliance.ids import new_id
from appliance.jobs import lifecycle, operations
from appliance.store import jobs as jobs_store
from appliance.store.db import transaction
from tests.conftest import mock_schema


def _record(conn: sqlite3.Connection, tenant_id: str, queue: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "mock", "params": {"schema": mock_schema(rows=10)}, "seed": 1}
    if queue:
        body["queue"] = queue
    return operations.record(conn, tenant_id, "key_test", body, max_attempts=2)


def _move(conn: sqlite3.Connection, job_id: str, to: str, **fields: Any) -> None:
    with transaction(conn):
        job = jobs_store.get_job(conn, job_id)
        assert job is not None
        lifecycle.move(conn, job, to, **fields)


def _run(conn: sqlite3.Connection, job_id: str, worker: str, lease_expires: float) -> None:
    _move(conn, job_id, "queued")
    _move(conn, job_id, "running", worker=worker, lease_expires=lease_expires)


def test_get_job_with_a_tenant_never_returns_another_tenants_job(
    conn: sqlite3.Connection, acme: dict[str, Any], globex: dict[str, Any]
) -> None:
    job = _record(conn, acme["id"])
    assert jobs_store.get_job(conn, job["id"], acme["id"])["id"] == job["id"]  # type: ignore[index]
    assert jobs_store.get_job(conn, job["id"], globex["id"]) is None
    assert jobs_store.get_job(conn, job["id"])["tenant_id"] == acme["id"]  # type: ignore[index]
    assert jobs_store.get_job(conn, "job_missing") is None


def test_recorded_job_round_trips_its_columns(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    job = _record(conn, acme["id"])
    row = jobs_store.get_job(conn, job["id"])
    assert row is not None
    for column in jobs_store.JOB_COLUMNS:
        assert row[column] == job[column], column
    assert row["status"] == "created"
    assert json.loads(row["contract"])["kind"] == "mock"


def test_events_after_is_ordered_and_resumable(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    job = _record(conn, acme["id"])
    other = _record(conn, acme["id"])
    _move(conn, job["id"], "queued")
    with transaction(conn):
        for i in range(5):
            lifecycle.record_progress(conn, job["id"], i / 5, i, f"step {i}")
            jobs_store.add_event(conn, other["id"], now_iso(), "log", {"message": "noise"})
    events = jobs_store.events_after(conn, job["id"], 0)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert {e["job_id"] for e in events} == {job["id"]}
    assert [e["type"] for e in events] == ["status", "status"] + ["progress"] * 5
    assert [json.loads(e["data"]).get("rows") for e in events[2:]] == [0, 1, 2, 3, 4]
    # resuming from any seen seq gives exactly the rest
    for cut in range(len(events)):
        rest = jobs_store.events_after(conn, job["id"], events[cut]["seq"])
        assert [e["seq"] for e in rest] == seqs[cut + 1 :]
    assert jobs_store.events_after(conn, job["id"], seqs[-1]) == []
    assert [e["seq"] for e in jobs_store.events_after(conn, job["id"], 0, limit=3)] == seqs[:3]


def test_add_event_returns_the_new_seq(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    job = _record(conn, acme["id"])
    with transaction(conn):
        seq = jobs_store.add_event(conn, job["id"], now_iso(), "log", {"message": "hi"})
    (last,) = jobs_store.events_after(conn, job["id"], seq - 1)
    assert last["seq"] == seq and json.loads(last["data"]) == {"message": "hi"}


def test_renew_lease_only_for_the_worker_holding_it(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    job = _record(conn, acme["id"])
    _run(conn, job["id"], "w1", 100.0)
    with transaction(conn):
        assert jobs_store.renew_lease(conn, job["id"], "w2", 500.0) == (False, False)
        assert jobs_store.renew_lease(conn, job["id"], "w1", 200.0) == (True, False)
    assert jobs_store.get_job(conn, job["id"])["lease_expires"] == 200.0  # type: ignore[index]
    with transaction(conn):
        jobs_store.update_job(conn, job["id"], {"cancel_requested": 1})
        assert jobs_store.renew_lease(conn, job["id"], "w1", 300.0) == (True, True)
    assert jobs_store.cancel_requested(conn, job["id"])
    _move(conn, job["id"], "canceled")
    with transaction(conn):  # a finished job's lease cannot be renewed
        assert jobs_store.renew_lease(conn, job["id"], "w1", 400.0) == (False, True)


def test_cancel_requested_is_false_for_unknown_and_fresh_jobs(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    job = _record(conn, acme["id"])
    assert not jobs_store.cancel_requested(conn, job["id"])
    assert not jobs_store.cancel_requested(conn, "job_missing")


def test_expired_leases_filters_by_time_status_and_queue(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    old = _record(conn, acme["id"])
    fresh = _record(conn, acme["id"])
    gpu_old = _record(conn, acme["id"], queue="gpu")
    _run(conn, old["id"], "w", 10.0)
    _run(conn, fresh["id"], "w", 1000.0)
    _run(conn, gpu_old["id"], "w", 10.0)
    assert {j["id"] for j in jobs_store.expired_leases(conn, 500.0, None)} == {old["id"], gpu_old["id"]}
    assert [j["id"] for j in jobs_store.expired_leases(conn, 500.0, "default")] == [old["id"]]
    assert [j["id"] for j in jobs_store.expired_leases(conn, 500.0, "gpu")] == [gpu_old["id"]]
    _move(conn, old["id"], "failed")  # terminal moves clear the lease
    assert [j["id"] for j in jobs_store.expired_leases(conn, 500.0, None)] == [gpu_old["id"]]


def _artifact(conn: sqlite3.Connection, job: dict[str, Any], name: str) -> dict[str, Any]:
    row = {
        "id": new_id("art"),
        "tenant_id": job["tenant_id"],
        "job_id": job["id"],
        "name": name,
        "media_type": "text/csv",
        "size": 1,
        "blake3": "c" * 64,
        "created_at": now_iso(),
    }
    with transaction(conn):
        jobs_store.insert_artifact(conn, row)
    return row


def test_artifacts_are_tenant_scoped_and_listed_by_job(
    conn: sqlite3.Connection, acme: dict[str, Any], globex: dict[str, Any]
) -> None:
    job, other = _record(conn, acme["id"]), _record(conn, acme["id"])
    first, second = _artifact(conn, job, "a.csv"), _artifact(conn, job, "b.csv")
    _artifact(conn, other, "c.csv")
    assert jobs_store.get_artifact(conn, first["id"], acme["id"])["name"] == "a.csv"  # type: ignore[index]
    assert jobs_store.get_artifact(conn, first["id"], globex["id"]) is None
    assert [a["id"] for a in jobs_store.artifacts_of_job(conn, job["id"])] == [first["id"], second["id"]]
    assert jobs_store.artifact_named(conn, job["id"], "b.csv")["id"] == second["id"]  # type: ignore[index]
    assert jobs_store.artifact_named(conn, job["id"], "c.csv") is None


def test_illegal_move_changes_nothing(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    job = _record(conn, acme["id"])
    before = jobs_store.events_after(conn, job["id"], 0)
    with pytest.raises(lifecycle.IllegalTransition):
        _move(conn, job["id"], "succeeded")
    assert jobs_store.get_job(conn, job["id"])["status"] == "created"  # type: ignore[index]
    assert jobs_store.events_after(conn, job["id"], 0) == before
