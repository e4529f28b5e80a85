"""The event-stream hub on a real state dir: one poller feeding subscriptions, nothing lost or sent
twice, limits, a slow reader cut off, and the poller stopping when nobody listens."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.clock import now_iso
from appliance.jobs import events, lifecycle, operations
from appliance.jobs.fanout import Hub, Limits, StreamLimit
from appliance.services import identity
from appliance.store import jobs as jobs_store
from appliance.store import scada as scada_store
from appliance.store import scada_alarms as scada_alarms_store
from appliance.store.db import transaction
from appliance.store.open import open_db
from tests.conftest import mock_schema


@pytest.fixture
def conn(state_dir: Path) -> sqlite3.Connection:
    return open_db(state_dir)


@pytest.fixture
def hub(state_dir: Path) -> Iterator[Hub]:
    made = Hub(state_dir, Limits(total=10, per_tenant=4), poll_s=0.02)
    yield made
    assert made.open_streams()["open"] == 0, "a test left a subscription open"


@pytest.fixture
def tenant_id(conn: sqlite3.Connection) -> str:
    return str(identity.create_tenant(conn, "acme", credits=100)["id"])


def _job(conn: sqlite3.Connection, tenant_id: str) -> str:
    body = {"kind": "mock", "params": {"schema": mock_schema(rows=10)}, "seed": 1}
    return str(operations.record(conn, tenant_id, "key_test", body, max_attempts=1)["id"])


def _move(conn: sqlite3.Connection, job_id: str, to: str) -> None:
    with transaction(conn):
        job = jobs_store.get_job(conn, job_id)
        assert job is not None
        lifecycle.move(conn, job, to)


def _progress(conn: sqlite3.Connection, job_id: str, n: int) -> None:
    with transaction(conn):
        for i in range(n):
            jobs_store.add_event(conn, job_id, now_iso(), "progress", {"i": i})


def _take_until_end(sub: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows, ended = sub.take(0.5)
        got.extend(rows)
        if ended:
            return got
    raise AssertionError(f"no end after {len(got)} rows")


def test_rows_after_subscribing_arrive_in_order_then_the_end(
    hub: Hub, conn: sqlite3.Connection, tenant_id: str
) -> None:
    job_id = _job(conn, tenant_id)
    sub = hub.follow_job(conn, tenant_id, job_id)
    try:
        _move(conn, job_id, "queued")
        _progress(conn, job_id, 7000)  # more than one poll reads at once
        _move(conn, job_id, "canceled")
        rows = _take_until_end(sub)
    finally:
        sub.close()
    seqs = [row["seq"] for row in rows]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    assert [row["type"] for row in rows].count("progress") == 7000
    assert rows[-1]["type"] == "status" and '"canceled"' in rows[-1]["data"]


def test_a_stream_replays_the_journal_then_follows_with_nothing_twice(
    hub: Hub, conn: sqlite3.Connection, tenant_id: str
) -> None:
    job_id = _job(conn, tenant_id)
    _move(conn, job_id, "queued")
    _progress(conn, job_id, 3)
    after = jobs_store.events_after(conn, job_id, 0)[1]["seq"]  # the client saw the first two
    body = events.job_stream(conn, hub, tenant_id, job_id, after, heartbeat_s=0.2)
    _progress(conn, job_id, 2)
    _move(conn, job_id, "failed")
    text = b"".join(body).decode()
    body.close()
    ids = [int(line[4:]) for line in text.splitlines() if line.startswith("id: ")]
    expected = [row["seq"] for row in jobs_store.events_after(conn, job_id, after)]
    assert ids == expected and text.endswith("event: end\ndata: {}\n\n")


def test_values_subscribers_get_every_sample_published(hub: Hub, conn: sqlite3.Connection, tenant_id: str) -> None:
    job_id = _job(conn, tenant_id)
    run_id = "run_fanout"
    with transaction(conn):
        scada_store.insert_run(
            conn,
            {
                "id": run_id,
                "tenant_id": tenant_id,
                "job_id": job_id,
                "plant": "water",
                "host": "127.0.0.1",
                "modbus_port": 1502,
                "unit_id": 1,
                "modbus_writes": False,
                "opcua_port": None,
                "opcua_security": None,
                "created_at": now_iso(),
            },
        )
    subs = [hub.follow_run(conn, tenant_id, run_id, job_id) for _ in range(3)]
    try:
        for seq in range(1, 201):
            with transaction(conn):
                scada_store.put_values(conn, run_id, seq, now_iso(), {"tank.level": seq})
        _move(conn, job_id, "queued")
        _move(conn, job_id, "canceled")
        for sub in subs:
            rows = _take_until_end(sub)
            assert [row["seq"] for row in rows if row.get("type") != "state"] == list(range(1, 201))
            # the run's last state (its job ended) comes with the end, after every sample
            assert rows[-1]["type"] == "state" and rows[-1]["data"]["status"] == "canceled"
    finally:
        for sub in subs:
            sub.close()


def test_limits_count_open_streams_and_closing_frees_them(hub: Hub, conn: sqlite3.Connection, tenant_id: str) -> None:
    other = str(identity.create_tenant(conn, "globex", credits=1)["id"])
    job_id = _job(conn, tenant_id)
    mine = [hub.follow_job(conn, tenant_id, job_id) for _ in range(4)]
    with pytest.raises(StreamLimit) as tenant_full:
        hub.follow_job(conn, tenant_id, job_id)
    assert tenant_full.value.scope == "tenant"
    theirs = [hub.follow_job(conn, other, job_id) for _ in range(4)]
    third = str(identity.create_tenant(conn, "initech")["id"])
    extra = [hub.follow_job(conn, third, job_id) for _ in range(2)]
    with pytest.raises(StreamLimit) as all_full:
        hub.follow_job(conn, other, job_id)
    assert all_full.value.scope in {"total", "tenant"}
    assert hub.open_streams() == {"open": 10, "jobs": 1, "runs": 0}
    mine[0].close()
    mine[0].close()  # closing twice frees one place, not two
    again = hub.follow_job(conn, tenant_id, job_id)
    for sub in [*mine, *theirs, *extra, again]:
        sub.close()
    assert hub.open_streams() == {"open": 0, "jobs": 0, "runs": 0}


def test_a_reader_that_falls_far_behind_is_cut_off_without_an_end(
    hub: Hub, conn: sqlite3.Connection, tenant_id: str
) -> None:
    job_id = _job(conn, tenant_id)
    body = events.job_stream(conn, hub, tenant_id, job_id, 0, heartbeat_s=0.2)
    first = next(body)  # the retry line: the stream is open, then nobody reads it
    _move(conn, job_id, "queued")
    _progress(conn, job_id, 6000)
    deadline = time.monotonic() + 10
    while not body.sub.overflowed and time.monotonic() < deadline:
        time.sleep(0.05)
    rest = b"".join(body).decode()
    body.close()
    assert first.startswith(b"retry:") and body.sub.overflowed
    assert "event: end" not in rest  # the job goes on: the client reconnects with Last-Event-ID


def test_the_poller_stops_when_nobody_listens_and_starts_again(
    hub: Hub, conn: sqlite3.Connection, tenant_id: str
) -> None:
    job_id = _job(conn, tenant_id)
    sub = hub.follow_job(conn, tenant_id, job_id)
    poller = hub._poller
    assert poller is not None and poller.is_alive()
    sub.close()
    poller.join(5)
    assert not poller.is_alive()
    again = hub.follow_job(conn, tenant_id, job_id)
    try:
        _move(conn, job_id, "queued")
        rows, _ = again.take(5)
        assert rows and rows[0]["type"] == "status"
    finally:
        again.close()


def _take_for(sub: Any, seconds: float) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got.extend(sub.take(0.1)[0])
    return got


def test_a_tenant_subscription_gets_its_jobs_states_and_alarm_counts(
    hub: Hub, conn: sqlite3.Connection, tenant_id: str
) -> None:
    """The overview's stream: status and progress of every job of the tenant (not logs, not another
    tenant's), and the alarm counts once they change; it never ends by itself."""
    other_tenant = str(identity.create_tenant(conn, "globex", credits=100)["id"])
    sub = hub.follow_tenant(conn, tenant_id)
    try:
        job_id, other = _job(conn, tenant_id), _job(conn, other_tenant)
        _move(conn, job_id, "queued")
        _move(conn, other, "queued")
        _progress(conn, job_id, 2)
        with transaction(conn):
            jobs_store.add_event(conn, job_id, now_iso(), "log", {"message": "not for the overview"})
            scada_store.insert_run(
                conn,
                {
                    "id": "run_t", "tenant_id": tenant_id, "job_id": job_id, "plant": "water", "host": "127.0.0.1",
                    "modbus_port": 1502, "unit_id": 1, "modbus_writes": False, "opcua_port": None,
                    "opcua_security": None, "created_at": now_iso(),
                },
            )
            scada_alarms_store.raise_alarm(
                conn,
                {
                    "id": "alm_t", "run_id": "run_t", "tenant_id": tenant_id, "tag": "LIT101", "description": "high",
                    "priority": 2, "raised_at": now_iso(), "scan": 1, "active_attacks": "[]",
                },
            )
        rows = _take_for(sub, 1.6)  # alarm counts are looked at once a second
        assert not sub.take(0)[1], "a tenant stream has no end"
    finally:
        sub.close()
    assert [row["type"] for row in rows] == ["status", "status", "progress", "progress", "alarms"], rows
    assert all(row["tenant_id"] == tenant_id for row in rows)
    assert {row["data"]["job_id"] for row in rows[:4]} == {job_id} and rows[0]["data"]["kind"] == "mock"
    assert [row["data"]["status"] for row in rows[:2]] == ["created", "queued"]
    assert rows[-1]["data"] == {"runs": {"run_t": 1}}


def test_a_values_stream_starts_with_the_runs_state_and_follows_it(
    hub: Hub, conn: sqlite3.Connection, tenant_id: str
) -> None:
    """A pause, a client connecting and a resume, by anyone (here written straight to the store, as
    the API and the run's worker write them), each reach an open values stream as a `state` event
    without an id; the stream starts with the current state and ends with the run's last one."""
    job_id, run_id = _job(conn, tenant_id), "run_state"
    with transaction(conn):
        scada_store.insert_run(
            conn,
            {
                "id": run_id, "tenant_id": tenant_id, "job_id": job_id, "plant": "water", "host": "127.0.0.1",
                "modbus_port": 1502, "unit_id": 1, "modbus_writes": False, "opcua_port": None,
                "opcua_security": None, "created_at": now_iso(),
            },
        )
        scada_store.insert_endpoint(conn, run_id, "modbus", "127.0.0.1", 1502, now_iso())
        scada_store.set_endpoint(conn, run_id, "modbus", "accepting", now_iso())
    _move(conn, job_id, "queued")
    _move(conn, job_id, "running")
    body = events.values_stream(conn, hub, tenant_id, run_id, job_id, heartbeat_s=0.2)

    def next_state() -> dict[str, Any]:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            chunk = next(body).decode()
            if chunk.startswith("event: state\n"):
                assert "id:" not in chunk  # Last-Event-ID stays the last sample's
                return dict(json.loads(chunk.split("data: ", 1)[1]))
        raise AssertionError("no state event")

    try:
        accepting = {"modbus": {"state": "accepting", "clients": 0}}
        assert next_state() == {"status": "running", "paused_at": None, "endpoints": accepting}
        with transaction(conn):
            scada_store.set_paused(conn, run_id, "2026-12-01T02:00:00.000Z")
        assert next_state() == {"status": "paused", "paused_at": "2026-12-01T02:00:00.000Z", "endpoints": accepting}
        with transaction(conn):
            scada_store.set_clients(conn, run_id, {"modbus": 2})
        assert next_state()["endpoints"] == {"modbus": {"state": "accepting", "clients": 2}}
        with transaction(conn):
            scada_store.set_paused(conn, run_id, None)
        assert next_state()["status"] == "running"
        _move(conn, job_id, "canceled")
        closed = {"modbus": {"state": "closed", "clients": 0}}
        assert next_state() == {"status": "canceled", "paused_at": None, "endpoints": closed}
        assert b"".join(body).decode().endswith("event: end\ndata: {}\n\n")
    finally:
        body.close()
