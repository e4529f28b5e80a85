"""Webhooks through the whole appliance (`sealforge serve`: API, workers and the deliverer) to a
real receiver on loopback: a job's events verified by `standardwebhooks` and by both clients'
verify(), replays and forgeries refused, and a kill -9 of the whole process tree mid-delivery that
loses no event."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import radmah_sdk
from sealforge_client.webhooks import WebhookVerificationError, verify
from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as StandardError

from appliance.store.db import fetch_all
from appliance.store.open import open_db
from tests.conftest import free_port, mock_schema, spawn_worker, stop_worker
from tests.live_appliance import SEALFORGE, api_process, stop_group, tenant_with_key, wait_until_up
from tests.webhook_receiver import Received, receiver


def check(got: Received, secret: str) -> dict[str, Any]:
    """What a receiver does: both libraries accept the delivery, and agree on its content."""
    Webhook(secret).verify(got.body, got.headers)
    assert radmah_sdk.verify(got.body, got.headers, secret) == verify(got.body, got.headers["x-slt-signature"], secret)
    return verify(got.body, got.headers, secret)


@contextmanager
def deliverer(state: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`sealforge webhooks-deliver` over ``state``, stopped after."""
    with log.open("ab") as out:
        proc = subprocess.Popen([*SEALFORGE, "webhooks-deliver", "--state-dir", str(state)], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop_group(proc)


@pytest.mark.heavy
def test_a_jobs_events_arrive_signed_and_replays_and_forgeries_are_refused(tmp_path: Path) -> None:
    """The API, a `default` worker and the deliverer, each its own process, as `serve` runs them."""
    state = tmp_path / "var"
    _, key = tenant_with_key(state, "plant", ["admin"])
    worker = spawn_worker(state, tmp_path / "worker.log", "default")
    try:
        with receiver() as hook, api_process(state, tmp_path / "api.log") as app, \
                deliverer(state, tmp_path / "deliverer.log"):
            api = httpx.Client(base_url=app.url, headers={"X-API-Key": key}, timeout=30)
            made = api.post("/v1/client/webhooks", json={"url": hook.url, "events": ["job.*", "seal.appended"]})
            assert made.status_code == 201, made.text
            secret = made.json()["secret"]
            job = api.post("/v1/jobs", json={"kind": "mock", "seed": 3, "params": {"schema": mock_schema(50)}}).json()
            wanted = {"job.created", "job.queued", "job.running", "job.succeeded", "job.mock.completed"}
            wanted.add("seal.appended")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not wanted <= {g.headers["x-slt-event"] for g in hook.received}:
                time.sleep(0.05)
            events = {e["type"]: e for e in (check(g, secret) for g in hook.received)}
            assert wanted <= set(events), sorted(events)
            assert events["job.succeeded"]["data"] == api.get(f"/v1/jobs/{job['id']}").json()
            assert events["job.mock.completed"]["data"]["status"] == "succeeded"
            seal = events["seal.appended"]["data"]
            assert seal["job_id"] == job["id"] and seal == api.get(f"/v1/seals/{seal['id']}").json()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                log = api.get(f"/v1/webhooks/{made.json()['id']}/deliveries", params={"limit": 50}).json()["data"]
                if {d["state"] for d in log} == {"delivered"}:
                    break
                time.sleep(0.05)
            assert {d["state"] for d in log} == {"delivered"}
            assert all(d["attempts"][0]["status_code"] == 200 for d in log)
    finally:
        stop_worker(worker)

    got = hook.received[0]
    stamp = int(got.headers["webhook-timestamp"])
    with pytest.raises(WebhookVerificationError, match="older than 300 s"):
        verify(got.body, got.headers, secret, now=stamp + 301)
    with pytest.raises(WebhookVerificationError, match="ahead"):
        verify(got.body, got.headers, secret, now=stamp - 301)
    stale = {**got.headers, "webhook-timestamp": str(stamp - 301)}
    with pytest.raises(StandardError):
        Webhook(secret).verify(got.body, stale)
    forged = got.body.replace(b'"type":"', b'"type":"x')
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify(forged, got.headers, secret)
    with pytest.raises(StandardError):
        Webhook(secret).verify(forged, got.headers)
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify(forged, got.headers["x-slt-signature"], secret)


def _serve(state: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SEALFORGE_SERVER_WORKERS": "1", "SEALFORGE_RATELIMIT_ENABLED": "false"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [*SEALFORGE, "serve", "--host", "127.0.0.1", "--port", str(port), "--state-dir", str(state)],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )


@pytest.mark.heavy
def test_kill_9_of_the_whole_tree_mid_delivery_loses_no_event(tmp_path: Path) -> None:
    state, log, port = tmp_path / "var", tmp_path / "serve.log", free_port()
    _, key = tenant_with_key(state, "plant", ["admin"])
    pings = 40
    with receiver() as hook:
        hook.on_request = lambda _got: time.sleep(0.05)  # a slow receiver: deliveries are in flight at the kill
        proc = _serve(state, port, log)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url, "/livez", proc, log)
            api = httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30)
            endpoint = api.post("/v1/webhooks", json={"url": hook.url, "events": ["*"]}).json()
            for _ in range(pings):
                assert api.post(f"/v1/webhooks/{endpoint['id']}/test").status_code == 202
            hook.wait_for(3)
            os.killpg(proc.pid, signal.SIGKILL)  # serve, the API, every worker and the deliverer at once
            proc.wait()
            before = len(hook.received)
            assert before < pings, "everything arrived before the kill: nothing was tested"
            proc = _serve(state, port, log)
            got = hook.wait_for(pings, timeout=60)
            deadline = time.monotonic() + 30
            while len({g.headers["webhook-id"] for g in hook.received}) < pings and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop_group(proc)
    conn = open_db(state)
    messages = {row["id"] for row in fetch_all(conn, "SELECT id FROM webhook_messages")}
    received = {g.headers["webhook-id"] for g in hook.received}
    assert len(messages) == pings and received == messages, (len(received), len(messages), len(got))
    for g in hook.received:
        check(g, endpoint["secret"])
        assert json.loads(g.body)["type"] == "webhook.test"
    states = fetch_all(conn, "SELECT state, COUNT(*) AS n FROM webhook_deliveries GROUP BY state")
    assert states == [{"state": "delivered", "n": pings}]
