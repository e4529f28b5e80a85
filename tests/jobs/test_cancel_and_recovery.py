"""Cancel (queued: at once; running: the worker notices the request and stops), kill -9 recovery
through leases, and idempotent submits under concurrency.

Each test waits for what the worker really did (the job claimed and making rows, the queue drained,
the lease run out) before the step under test; how fast a cancel lands is measured in bench/, not here."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance.jobs.queues import pending_counts
from appliance.store import jobs as jobs_store
from tests.conftest import auth
from tests.jobs.conftest import LEASE_S, mock_schema, wait_for
from tests.jobs.test_lifecycle import parse_sse

BIG = 40_000_000  # long enough to be caught running


def running_with_progress(client: FlaskClient, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).get_json()
        if job["status"] == "running" and job["rows"] > 0:
            return job
        assert job["status"] in ("queued", "running"), job
        time.sleep(0.05)
    raise AssertionError("job never showed progress")


def until(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def wait_lease_expired(db: Any, job_id: str) -> None:
    """The killed worker's lease has run out, so the next worker's start-up reclaim sees it."""

    def expired() -> bool:
        row = jobs_store.get_job(db, job_id)
        assert row is not None and row["status"] == "running", row
        return row["lease_expires"] is not None and row["lease_expires"] < time.time()

    until(expired, f"the lease of {job_id} to expire")


def events(client: FlaskClient, headers: dict[str, str], job_id: str) -> list[dict[str, Any]]:
    return parse_sse(client.get(f"/v1/jobs/{job_id}/events", headers=headers).get_data(as_text=True))


def test_cancel_queued_is_immediate(
    client: FlaskClient, keys: dict[str, str], start_worker: Any, state_dir: Path
) -> None:
    headers = auth(keys["generate"])
    job = client.post("/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema()}}, headers=headers)
    canceled = client.post(f"/v1/jobs/{job.get_json()['id']}/cancel", headers=headers).get_json()
    assert canceled["status"] == "canceled"
    later = client.post("/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(10)}}, headers=headers)
    start_worker()  # the worker picks the canceled job's task up first and must leave it alone
    # one worker thread takes tasks in order: once the later job ran, the canceled one's task was consumed
    assert wait_for(client, headers, later.get_json()["id"], {"succeeded", "failed"})["status"] == "succeeded"
    assert pending_counts(state_dir)["default"] == 0
    again = client.get(f"/v1/jobs/{canceled['id']}", headers=headers).get_json()
    assert again["status"] == "canceled" and again["attempts"] == 0 and again["started_at"] is None
    statuses = [e["data"]["status"] for e in events(client, headers, canceled["id"]) if e["event"] == "status"]
    assert statuses == ["created", "queued", "canceled"], statuses  # never claimed: no move to running


def test_cancel_running_stops_the_job(
    client: FlaskClient, keys: dict[str, str], start_worker: Any, state_dir: Path
) -> None:
    start_worker()
    headers = auth(keys["generate"])
    job_id = client.post(
        "/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(BIG)}}, headers=headers
    ).get_json()["id"]
    running_with_progress(client, headers, job_id)  # claimed by the worker and making rows
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=headers).status_code == 200
    done = wait_for(client, headers, job_id, {"canceled", "succeeded", "failed"})
    assert done["status"] == "canceled"
    journal = events(client, headers, job_id)
    asked = next(i for i, e in enumerate(journal) if e["event"] == "log" and e["data"]["message"] == "cancel requested")
    stopped = [
        {k: e["data"][k] for k in ("status", "from", "reason")} for e in journal[asked:] if e["event"] == "status"
    ]
    # the running worker saw the request and stopped the job itself (not a lost lease, not a finish)
    assert stopped == [{"status": "canceled", "from": "running", "reason": "canceled by request"}], journal
    assert done["rows"] < BIG
    assert client.get(f"/v1/artifacts?job_id={job_id}", headers=headers).get_json()["count"] == 0
    assert not (state_dir / "work" / job_id).exists()
    assert client.get("/v1/billing/balance", headers=headers).get_json()["credits"] == 1000


@pytest.mark.heavy
def test_kill_9_requeues_then_succeeds(client: FlaskClient, keys: dict[str, str], start_worker: Any, db: Any) -> None:
    worker = start_worker()
    headers = auth(keys["generate"])
    job_id = client.post(
        "/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(12_000_000)}}, headers=headers
    ).get_json()["id"]
    running_with_progress(client, headers, job_id)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    assert client.get(f"/v1/artifacts?job_id={job_id}", headers=headers).get_json()["count"] == 0
    wait_lease_expired(db, job_id)
    start_worker()  # reclaims expired leases when it starts
    done = wait_for(client, headers, job_id, {"succeeded", "failed"}, timeout=120)
    assert done["status"] == "succeeded" and done["attempts"] == 2
    events = client.get(f"/v1/jobs/{job_id}/events", headers=headers).get_data(as_text=True)
    assert "WORKER_LOST" in events
    artifacts = client.get(f"/v1/artifacts?job_id={job_id}", headers=headers).get_json()["data"]
    assert len(artifacts) == 1


class TestNoRetriesLeft:
    @pytest.fixture
    def app_config(self, state_dir: Path) -> dict[str, Any]:
        return {"server": {"state_dir": str(state_dir)}, "jobs": {"lease_s": LEASE_S, "max_attempts": 1}}

    def test_kill_9_fails_with_worker_lost(
        self, client: FlaskClient, keys: dict[str, str], start_worker: Any, db: Any
    ) -> None:
        worker = start_worker()
        headers = auth(keys["generate"])
        job_id = client.post(
            "/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(BIG)}}, headers=headers
        ).get_json()["id"]
        running_with_progress(client, headers, job_id)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        wait_lease_expired(db, job_id)
        start_worker()
        done = wait_for(client, headers, job_id, {"failed", "succeeded"}, timeout=30)
        assert done["status"] == "failed" and done["error"]["code"] == "WORKER_LOST"


def test_ten_concurrent_submits_with_one_key_make_one_job(app: Flask, keys: dict[str, str]) -> None:
    headers = {**auth(keys["generate"]), "Idempotency-Key": "same-key"}
    body = {"kind": "mock", "params": {"schema": mock_schema(10)}, "seed": 3}

    def submit(_: int) -> tuple[int, str | None]:
        response = app.test_client().post("/v1/jobs", json=body, headers=headers)
        return response.status_code, (response.get_json().get("id") if response.status_code == 202 else None)

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(submit, range(10)))
    statuses = [s for s, _ in results]
    assert set(statuses) <= {202, 409}
    assert len({job_id for _, job_id in results if job_id}) == 1
    listed = app.test_client().get("/v1/jobs", headers=auth(keys["read"])).get_json()
    assert listed["count"] == 1
