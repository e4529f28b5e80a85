"""Pause and resume a live run through the API with a real `sim` worker, watched by real Modbus and
OPC UA clients over loopback: the plant freezes, both servers keep their clients and serve the last
values, a write is refused on the API (409), over Modbus (exception 6) and over OPC UA
(BadInvalidState, from an appliance user allowed to write); the bad transitions are 409
`LIVE_RUN_STATE`; webhooks tell `scada.run.paused` / `resumed`; an open values stream gets the
run's `state` on each change, whoever made it. And each endpoint reports the clients connected now."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client
from flask.testing import FlaskClient
from pymodbus.client import ModbusTcpClient

from appliance.services import identity
from appliance.store.db import fetch_all
from simulators.protocols.certs import make_certificate
from tests.api.scada.conftest import SimAppliance
from tests.api.scada.test_live_runs import running, start_run, until
from tests.conftest import auth, free_port, wait_for
from tests.simulators.protocols.opcua_client import configured_client, read_write_call

CLIENT_URI = "urn:sealforge:test-hmi"
PASSWORD = "a long operator password"


def _get(client: FlaskClient, headers: dict[str, str], run_id: str) -> dict[str, Any]:
    return client.get(f"/v1/scada/runs/{run_id}", headers=headers).get_json()


def _code(response: Any) -> tuple[int, str]:
    return response.status_code, response.get_json()["error"]["code"]


@pytest.mark.heavy
def test_pause_and_resume_a_live_run(
    sim_appliance: SimAppliance, sim_keys: dict[str, str], sim_tenant: dict[str, Any]
) -> None:
    client, keys, db = sim_appliance.client, sim_keys, sim_appliance.db
    mine = (sim_tenant["id"],)  # the module's appliance serves other tests' tenants too
    hook = {"url": "http://127.0.0.1:9/", "events": ["scada.run.*"]}
    assert client.post("/v1/webhooks", json=hook, headers=auth(keys["admin"])).status_code == 201
    headers = auth(keys["generate"])
    port = free_port()
    run = start_run(client, headers, modbus={"port": port, "writes": True})
    run = running(client, headers, run["id"])
    base = f"/v1/scada/runs/{run['id']}"
    assert _code(client.post(f"{base}/resume", headers=headers)) == (409, "LIVE_RUN_STATE")  # not paused
    points = {
        (p["tag"], p["encoding"]): p for p in client.get(f"{base}/map", headers=headers).get_json()["modbus"]["points"]
    }
    setpoint = points[("LIC101.SP", "uint16")]
    modbus = ModbusTcpClient("127.0.0.1", port=port, timeout=3, retries=0)
    assert modbus.connect()
    try:
        paused = client.post(f"{base}/pause", headers=headers)
        assert paused.status_code == 200, paused.get_json()
        body = paused.get_json()
        assert body["status"] == "paused" and body["paused_at"] and body["_links"]["resume"] == f"{base}/resume"
        frozen = _get(client, headers, run["id"])["values"]
        assert _code(client.post(f"{base}/pause", headers=headers)) == (409, "LIVE_RUN_STATE")  # already paused

        # the Modbus client stays connected and reads the frozen value; its write is refused as busy
        reading = modbus.read_input_registers(points[("LIT101", "uint16")]["address"], count=1, device_id=1)
        assert not reading.isError()
        assert reading.registers[0] == round(frozen["values"]["LIT101"] * points[("LIT101", "uint16")]["scale"])
        busy = modbus.write_register(setpoint["address"], int(3.3 * setpoint["scale"]), device_id=1)
        assert busy.isError() and busy.exception_code == 6
        refused = client.post(f"{base}/writes", headers=headers, json={"tag": "LIC101.SP", "value": 3.3})
        assert _code(refused) == (409, "LIVE_RUN_STATE")
        attack = client.post(
            f"{base}/attacks", headers=headers, json={"technique": "spoof", "duration": 5, "targets": ["LIT101"]}
        )
        assert _code(attack) == (409, "LIVE_RUN_STATE")
        trend = client.get(f"{base}/trend?tags=LIT101&last=600", headers=headers).get_json()
        # plant time stands still: what was published before the pause is still the latest sample
        assert _get(client, headers, run["id"])["values"]["scan"] == frozen["scan"]
        assert client.get(f"{base}/trend?tags=LIT101&last=600", headers=headers).get_json() == trend

        resumed = client.post(f"{base}/resume", headers=headers)
        assert resumed.status_code == 200 and resumed.get_json()["status"] == "running"
        until(lambda: _get(client, headers, run["id"])["values"]["scan"] > frozen["scan"])
        assert not modbus.write_register(setpoint["address"], int(3.3 * setpoint["scale"]), device_id=1).isError()
    finally:
        modbus.close()

    for bad in ("/pause", "/resume"):  # a read-only key may not
        assert client.post(f"{base}{bad}", headers=auth(keys["read"])).status_code == 403
    assert client.post(f"{base}/stop", headers=headers).status_code == 202
    job = wait_for(client, headers, run["job_id"], {"succeeded", "failed"}, timeout=60)
    assert job["status"] == "succeeded", job["error"]
    assert _code(client.post(f"{base}/pause", headers=headers)) == (409, "LIVE_RUN_STATE")  # stopped
    assert _code(client.post(f"{base}/resume", headers=headers)) == (409, "LIVE_RUN_STATE")

    def announced() -> list[str]:
        rows = fetch_all(db, "SELECT type FROM webhook_messages WHERE tenant_id = ? ORDER BY id", mine)
        types = [row["type"] for row in rows]
        return types if "scada.run.stopped" in types else []

    types = until(announced)
    assert types.index("scada.run.paused") < types.index("scada.run.resumed") < types.index("scada.run.stopped")
    paused_sql = "SELECT body FROM webhook_messages WHERE tenant_id = ? AND type = 'scada.run.paused'"
    paused_event = json.loads(fetch_all(db, paused_sql, mine)[0]["body"])
    assert paused_event["data"]["id"] == run["id"] and paused_event["data"]["status"] == "paused"


@pytest.mark.heavy
def test_the_values_stream_follows_the_runs_state(sim_appliance: SimAppliance, sim_keys: dict[str, str]) -> None:
    """What an open live plant page follows: a reader's values stream gets a `state` event (no id)
    when another caller pauses, resumes or stops the run through the API and when a Modbus client
    connects and leaves, then its end."""
    client, keys = sim_appliance.client, sim_keys
    headers = auth(keys["generate"])
    port = free_port()
    run = running(client, headers, start_run(client, headers, modbus={"port": port})["id"])
    base = f"/v1/scada/runs/{run['id']}"
    stream = client.get(f"{base}/values", headers=auth(keys["read"]), buffered=False)
    assert stream.status_code == 200 and stream.mimetype == "text/event-stream"
    chunks = iter(stream.response)  # one event per chunk, as the API sends them; read here, in turn

    def next_state(wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """The next state event that is ``wanted`` (None: the stream ended first)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # a heartbeat comes at least every [streams] heartbeat_s
            chunk = next(chunks)
            text = chunk.decode() if isinstance(chunk, bytes) else str(chunk)
            if text.startswith("event: end\n"):
                return None
            if text.startswith("event: state\n"):
                assert "\nid:" not in text
                state = json.loads(text.split("data: ", 1)[1])
                if wanted(state):
                    return dict(state)
        raise AssertionError("no such state in time")

    try:
        first = next_state(lambda s: True)  # the stream opens with the run's state
        assert first and first["status"] == "running" and first["endpoints"]["modbus"]["state"] == "accepting"
        paused = client.post(f"{base}/pause", headers=headers)
        assert paused.status_code == 200
        state = next_state(lambda s: s["status"] == "paused")
        assert state and state["paused_at"] == paused.get_json()["paused_at"]
        # the worker's own probe of the port at start may still count: a client comes once it has gone
        if state["endpoints"]["modbus"]["clients"]:
            next_state(lambda s: s["endpoints"]["modbus"]["clients"] == 0)
        modbus = ModbusTcpClient("127.0.0.1", port=port, timeout=3, retries=0)
        assert modbus.connect()
        try:
            assert next_state(lambda s: s["endpoints"]["modbus"]["clients"] == 1)
        finally:
            modbus.close()
        state = next_state(lambda s: s["endpoints"]["modbus"]["clients"] == 0)
        assert state and state["status"] == "paused"
        assert client.post(f"{base}/resume", headers=headers).status_code == 200
        accepting = {"modbus": {"state": "accepting", "clients": 0}}
        assert next_state(lambda s: s["status"] != "paused") == {
            "status": "running",
            "paused_at": None,
            "endpoints": accepting,
        }
        assert client.post(f"{base}/stop", headers=headers).status_code == 202
        closed = {"modbus": {"state": "closed", "clients": 0}}
        assert next_state(lambda s: s["status"] != "running") == {
            "status": "stopped",
            "paused_at": None,
            "endpoints": closed,
        }
        assert next_state(lambda s: True) is None  # then the stream ends
    finally:
        stream.close()
    wait_for(client, headers, run["job_id"], {"succeeded", "failed"}, timeout=60)


@pytest.mark.heavy
def test_each_endpoint_counts_its_clients(sim_appliance: SimAppliance, sim_keys: dict[str, str]) -> None:
    client, keys = sim_appliance.client, sim_keys
    headers = auth(keys["read"])
    modbus_port, opcua_port = free_port(), free_port()
    run = start_run(
        client, auth(keys["generate"]), modbus={"port": modbus_port}, opcua={"port": opcua_port, "security": "none"}
    )
    run = running(client, headers, run["id"])

    def clients() -> dict[str, int]:
        return {ep["protocol"]: ep["clients"] for ep in _get(client, headers, run["id"])["endpoints"]}

    until(lambda: clients() == {"modbus": 0, "opcua": 0})  # the worker's own probe has gone
    modbus = [ModbusTcpClient("127.0.0.1", port=modbus_port, timeout=3, retries=0) for _ in range(2)]
    assert all(m.connect() for m in modbus)

    async def with_session() -> None:
        async with Client(run["opcua"]["endpoint"]):
            await asyncio.to_thread(until, lambda: clients() == {"modbus": 2, "opcua": 1})

    try:
        asyncio.run(with_session())
    finally:
        for m in modbus:
            m.close()
    until(lambda: clients() == {"modbus": 0, "opcua": 0})
    listed = client.get("/v1/scada/runs", headers=headers).get_json()["data"][0]
    assert {ep["protocol"]: ep["clients"] for ep in listed["endpoints"]} == {"modbus": 0, "opcua": 0}
    assert client.post(f"/v1/scada/runs/{run['id']}/stop", headers=auth(keys["generate"])).status_code == 202
    wait_for(client, auth(keys["generate"]), run["job_id"], {"succeeded", "failed"}, timeout=60)
    assert clients() == {"modbus": 0, "opcua": 0}


def test_pause_and_resume_on_missing_foreign_or_unstarted_runs(
    client: FlaskClient, db: Any, keys: dict[str, str]
) -> None:
    from appliance.services import identity

    headers = auth(keys["generate"])
    run = start_run(client, headers, modbus={"port": free_port()})  # no worker: it never starts
    other = identity.create_key(db, identity.create_tenant(db, "globex")["id"], ["admin"])["api_key"]
    for verb in ("pause", "resume"):
        assert client.post(f"/v1/scada/runs/{run['id']}/{verb}", headers=auth(other)).status_code == 404
        missing = client.post(f"/v1/scada/runs/run_00000000000000000000000000/{verb}", headers=headers)
        assert missing.status_code == 404
        early = client.post(f"/v1/scada/runs/{run['id']}/{verb}", headers=headers)
        assert _code(early) == (409, "LIVE_RUN_STATE") and "has not started" in early.get_json()["error"]["message"]
        assert client.post(f"/v1/scada/runs/{run['id']}/{verb}", headers=auth(keys["read"])).status_code == 403
    assert client.post(f"/v1/scada/runs/{run['id']}/stop", headers=headers).get_json()["status"] == "canceled"


@pytest.mark.heavy
def test_an_opcua_write_while_paused_is_bad_invalid_state(
    sim_appliance: SimAppliance, sim_keys: dict[str, str], sim_tenant: dict[str, Any], tmp_path: Path
) -> None:
    """An appliance user with `generate` (OPC UA operator) stays logged in through the pause, reads
    the frozen values, and has a write and a method call refused with BadInvalidState; after resume
    both go through."""
    client, keys = sim_appliance.client, sim_keys
    identity.create_user(sim_appliance.db, sim_tenant["id"], "operator@plant.example", PASSWORD, "generate")
    make_certificate(
        tmp_path / "client.der",
        tmp_path / "client.pem",
        CLIENT_URI,
        "test hmi",
        [socket.gethostname(), "localhost"],
        client=True,
    )
    trusted = sim_appliance.state_dir / "pki" / "opcua" / "trusted" / "certs"  # the state dir's trust list
    trusted.mkdir(parents=True, exist_ok=True)
    (trusted / "hmi.der").write_bytes((tmp_path / "client.der").read_bytes())
    headers = auth(keys["generate"])
    run = running(
        client, headers, start_run(client, headers, opcua={"port": free_port(), "security": "sign_encrypt"})["id"]
    )
    base = f"/v1/scada/runs/{run['id']}"

    async def session() -> list[dict[str, object]]:
        hmi = await configured_client(
            run["opcua"]["endpoint"], CLIENT_URI, tmp_path, "operator@plant.example", PASSWORD
        )
        async with hmi:
            assert (await asyncio.to_thread(client.post, f"{base}/pause", headers=headers)).status_code == 200
            paused = await read_write_call(hmi, "Start")
            assert (await asyncio.to_thread(client.post, f"{base}/resume", headers=headers)).status_code == 200
            return [paused, await read_write_call(hmi, "Start")]

    try:
        paused, resumed = asyncio.run(session())
        assert paused["write"] == paused["call"] == "BadInvalidState", paused
        assert resumed["write"] == resumed["call"] == "ok", resumed
    finally:
        client.post(f"{base}/stop", headers=headers)
        wait_for(client, headers, run["job_id"], {"succeeded", "failed", "canceled"}, timeout=60)
