"""Nothing submitted is lost: the queue files commit at `synchronous = NORMAL` (no fsync per
enqueue), so a job whose task is gone is enqueued again by the consumers' sweep, and an API killed
with SIGKILL mid-burst leaves every acknowledged job queued with its task on disk."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from flask.testing import FlaskClient

from appliance.jobs import operations
from appliance.jobs.queues import make_huey
from appliance.jobs.reclaim import requeue_stranded
from appliance.jobs.tasks import runtime
from appliance.store import jobs as jobs_store
from appliance.store.open import open_db
from tests.conftest import InlineJobs, auth
from tests.jobs.conftest import mock_schema
from tests.live_appliance import api_process, tenant_with_key

BODY = {"kind": "mock", "params": {"schema": mock_schema(10)}}


def _task_job_ids(state_dir: Path, queue: str) -> list[str]:
    return [task.args[0] for task in runtime(state_dir, queue).huey.pending()]


def test_queue_files_are_wal_with_normal_sync(state_dir: Path) -> None:
    conn = make_huey(state_dir, "default").storage.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_the_sweep_enqueues_only_jobs_whose_task_is_gone(
    client: FlaskClient, keys: dict[str, str], tenant: dict[str, Any], state_dir: Path, inline_jobs: InlineJobs
) -> None:
    headers = auth(keys["generate"])
    taken = client.post("/v1/jobs", json=BODY, headers=headers).get_json()
    queue = taken["queue"]
    assert runtime(state_dir, queue).huey.dequeue() is not None  # a consumer killed before its claim
    kept = client.post("/v1/jobs", json=BODY, headers=headers).get_json()
    conn = open_db(state_dir)
    unsent = operations.record(conn, tenant["id"], "key_test", BODY, 2)
    assert unsent["status"] == "created" and unsent["queue"] == queue  # the API killed before enqueueing
    assert _task_job_ids(state_dir, queue) == [kept["id"]]

    assert requeue_stranded(state_dir, queue) == []  # all moved within the last minute: left alone
    assert sorted(requeue_stranded(state_dir, queue, after_s=0)) == sorted([taken["id"], unsent["id"]])
    assert sorted(_task_job_ids(state_dir, queue)) == sorted([kept["id"], taken["id"], unsent["id"]])
    assert requeue_stranded(state_dir, queue, after_s=0) == []  # every waiting job has its task now
    moves = [json.loads(e["data"]) for e in jobs_store.events_after(conn, unsent["id"], 0) if e["type"] == "status"]
    assert [m["status"] for m in moves] == ["created", "queued"] and moves[1]["reason"].startswith("STRANDED")

    assert inline_jobs.drain() == 3
    for job_id in (taken["id"], kept["id"], unsent["id"]):
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).get_json()
        assert job["status"] == "succeeded" and job["attempts"] == 1, job


def test_an_extra_task_for_a_job_runs_it_once(
    client: FlaskClient, keys: dict[str, str], state_dir: Path, inline_jobs: InlineJobs
) -> None:
    headers = auth(keys["generate"])
    job = client.post("/v1/jobs", json=BODY, headers=headers).get_json()
    runtime(state_dir, job["queue"]).enqueue(job["id"])  # a sweep that raced a consumer's take
    assert inline_jobs.drain() == 2
    done = client.get(f"/v1/jobs/{job['id']}", headers=headers).get_json()
    assert done["status"] == "succeeded" and done["attempts"] == 1


def test_sigkill_mid_burst_loses_no_acknowledged_job(state_dir: Path, tmp_path: Path) -> None:
    _, key = tenant_with_key(state_dir, "burst", ["generate", "read"])
    acknowledged: list[str] = []
    stop = threading.Event()

    def submitter(url: str) -> None:
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=10) as http:
            while not stop.is_set():
                try:
                    answer = http.post("/v1/mock/jobs", json={"params": BODY["params"]})
                except httpx.HTTPError:
                    return  # the server is gone
                assert answer.status_code == 202, answer.text
                acknowledged.append(answer.json()["id"])

    with api_process(state_dir, tmp_path / "api.log") as api:
        threads = [threading.Thread(target=submitter, args=(api.url,)) for _ in range(6)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(api.proc.pid, signal.SIGKILL)
        api.proc.wait()
        stop.set()
        for thread in threads:
            thread.join()
    assert len(acknowledged) >= 40

    conn = open_db(state_dir)
    jobs = {job_id: jobs_store.get_job(conn, job_id) for job_id in acknowledged}
    assert all(job is not None and job["status"] == "queued" for job in jobs.values())
    queues = {job["queue"] for job in jobs.values() if job}
    with_task = {job_id for queue in queues for job_id in _task_job_ids(state_dir, queue)}
    assert set(acknowledged) <= with_task  # every 202 had its task on disk before it was sent

    for queue in queues:  # a job recorded but not acknowledged when the kill came is enqueued again
        requeue_stranded(state_dir, queue, after_s=0)
    InlineJobs(state_dir).drain()
    assert not any(jobs_store.waiting_jobs(conn, queue, "9999") for queue in queues)  # nothing left waiting
    for job_id in acknowledged:
        job = jobs_store.get_job(conn, job_id)
        assert job is not None and job["status"] == "succeeded" and job["attempts"] == 1, job
