"""Live SCADA runs through the API and a real `sim` worker, read and written by real Modbus and
OPC UA clients over loopback; attacks injected through the API show in the values and the labels."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from asyncua import Client
from flask.testing import FlaskClient
from pymodbus.client import ModbusTcpClient

from tests.api.scada.conftest import SimAppliance
from tests.conftest import auth, free_port, wait_for


def until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def start_run(client: FlaskClient, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    body = {
        "plant": "water",
        "seed": 3,
        "speed": 10,
        "params": {"demand_variability": 0.0},
        "sensors": {"noise": 0.0},
        **extra,
    }
    response = client.post("/v1/scada/runs", json=body, headers=headers)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def running(client: FlaskClient, headers: dict[str, str], run_id: str) -> dict[str, Any]:
    def check() -> Any:
        run = client.get(f"/v1/scada/runs/{run_id}", headers=headers).get_json()
        assert run["status"] in ("starting", "running"), run
        return run if run["status"] == "running" and run["values"] else None

    return until(check, 60)


@pytest.mark.heavy
def test_live_run_over_modbus_and_opcua(sim_appliance: SimAppliance, sim_keys: dict[str, str]) -> None:
    client, keys = sim_appliance.client, sim_keys
    headers = auth(keys["generate"])
    modbus_port, opcua_port = free_port(), free_port()
    run = start_run(
        client, headers, modbus={"port": modbus_port, "writes": True}, opcua={"port": opcua_port, "security": "none"}
    )
    assert run["status"] == "starting" and run["modbus"]["port"] == modbus_port and run["modbus"]["writes"]
    run = running(client, headers, run["id"])

    maps = client.get(f"/v1/scada/runs/{run['id']}/map", headers=headers).get_json()
    points = {(p["tag"], p["encoding"]): p for p in maps["modbus"]["points"]}
    csv = client.get(f"/v1/scada/runs/{run['id']}/map?format=csv&protocol=modbus", headers=headers)
    assert csv.mimetype == "text/csv" and b"LIT101" in csv.data

    modbus = ModbusTcpClient("127.0.0.1", port=modbus_port, timeout=3, retries=0)
    assert modbus.connect()
    try:
        level = points[("LIT101", "uint16")]
        reading = modbus.read_input_registers(level["address"], count=1, device_id=1)
        assert not reading.isError() and 0 < reading.registers[0] / level["scale"] < 10
        setpoint = points[("LIC101.SP", "uint16")]
        assert not modbus.write_register(setpoint["address"], int(3.2 * setpoint["scale"]), device_id=1).isError()
        until(
            lambda: (
                client.get(f"/v1/scada/runs/{run['id']}", headers=headers).get_json()["values"]["values"]["LIC101.SP"]
                == pytest.approx(3.2)
            )
        )
        bad = modbus.read_input_registers(60000, count=1, device_id=1)
        assert bad.isError() and bad.exception_code == 2
    finally:
        modbus.close()

    async def browse() -> set[str]:
        async with Client(run["opcua"]["endpoint"]) as opc:
            plant = await opc.nodes.objects.get_child("2:water")
            return {(await c.read_browse_name()).Name for c in await plant.get_children()}

    assert "P101" in asyncio.run(browse())

    attack = client.post(
        f"/v1/scada/runs/{run['id']}/attacks",
        headers=headers,
        json={"technique": "spoof", "duration": 20, "targets": ["LIT101"], "magnitude": 1.0},
    )
    assert attack.status_code == 201, attack.get_json()
    attack_id = attack.get_json()["scenario"]["attack_id"]
    until(
        lambda: (
            attack_id
            in (client.get(f"/v1/scada/runs/{run['id']}", headers=headers).get_json()["values"]["active_attacks"])
        )
    )

    stopped = client.post(f"/v1/scada/runs/{run['id']}/stop", headers=headers)
    assert stopped.status_code == 202
    job = wait_for(client, headers, run["job_id"], {"succeeded", "failed"}, timeout=60)
    assert job["status"] == "succeeded", job["error"]
    final = client.get(f"/v1/scada/runs/{run['id']}", headers=headers).get_json()
    assert final["status"] == "stopped" and final["result"]["attack_rows"] > 0
    arts = {
        a["name"]: a for a in client.get(f"/v1/artifacts?job_id={run['job_id']}", headers=headers).get_json()["data"]
    }
    assert {"water-live-telemetry.parquet", "manifest.json", "register-map.json", "node-map.json"} <= set(arts)
    table = pq.read_table(
        io.BytesIO(
            client.get(f"/v1/artifacts/{arts['water-live-telemetry.parquet']['id']}/download", headers=headers).data
        )
    )
    labelled = table.filter(pc.equal(table.column("attack"), 1))
    assert labelled.num_rows == final["result"]["attack_rows"] and set(labelled.column("attack_id").to_pylist()) == {
        attack_id
    }
    assert client.get(f"/v1/evidence/{run['job_id']}", headers=headers).status_code == 200
    again = client.post(f"/v1/scada/runs/{run['id']}/stop", headers=headers)
    assert again.status_code == 409


def test_modbus_is_read_only_unless_writes_are_asked_for(sim_appliance: SimAppliance, sim_keys: dict[str, str]) -> None:
    """Modbus has no authentication: by default a run's server answers reads and refuses every write."""
    client, keys = sim_appliance.client, sim_keys
    headers = auth(keys["generate"])
    port = free_port()
    run = start_run(client, headers, modbus={"port": port})
    assert run["modbus"]["writes"] is False
    run = running(client, headers, run["id"])
    points = {
        (p["tag"], p["encoding"]): p
        for p in client.get(f"/v1/scada/runs/{run['id']}/map", headers=headers).get_json()["modbus"]["points"]
    }
    modbus = ModbusTcpClient("127.0.0.1", port=port, timeout=3, retries=0)
    assert modbus.connect()
    try:
        assert not modbus.read_holding_registers(points[("LIC101.SP", "uint16")]["address"], count=1).isError()
        refused = modbus.write_register(points[("LIC101.SP", "uint16")]["address"], 1, device_id=1)
        assert refused.isError() and refused.exception_code == 1  # ILLEGAL FUNCTION
        coil = next(p for p in points.values() if p["table"] == "coil")
        refused = modbus.write_coil(coil["address"], True, device_id=1)
        assert refused.isError() and refused.exception_code == 1
    finally:
        modbus.close()
    assert client.post(f"/v1/scada/runs/{run['id']}/stop", headers=headers).status_code == 202
    job = wait_for(client, headers, run["job_id"], {"succeeded", "failed"}, timeout=60)
    assert job["status"] == "succeeded", job["error"]


def test_values_stream_and_duration_end(sim_appliance: SimAppliance, sim_keys: dict[str, str]) -> None:
    client, keys = sim_appliance.client, sim_keys
    headers = auth(keys["generate"])
    run = start_run(client, headers, modbus={"port": free_port()}, duration=3)
    stream = client.get(f"/v1/scada/runs/{run['id']}/values", headers=headers)  # follows until the run ends
    text = stream.get_data(as_text=True)
    assert "event: values" in text and text.rstrip().endswith("data: {}")
    assert wait_for(client, headers, run["job_id"], {"succeeded", "failed"}, timeout=30)["status"] == "succeeded"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"plant": "water"}, "modbus"),
        ({"plant": "nuclear", "modbus": {"port": 15020}}, "params.plant"),
        ({"plant": "water", "modbus": {"port": 70000}}, "modbus.port"),
        ({"plant": "water", "opcua": {"port": 15021, "security": "rot13"}}, "opcua.security"),
        ({"plant": "water", "modbus": {"port": 15022}, "opcua": {"port": 15022}}, "opcua.port"),
        ({"plant": "water", "modbus": {"port": 15023}, "duration": 0}, "params.live.duration"),
    ],
)
def test_bad_run_requests(client: FlaskClient, keys: dict[str, str], body: dict[str, Any], field: str) -> None:
    response = client.post("/v1/scada/runs", json=body, headers=auth(keys["generate"]))
    assert response.status_code == 400, response.get_json()
    assert field in [d["field"] for d in response.get_json()["error"]["details"]]
    assert client.get("/v1/scada/runs", headers=auth(keys["read"])).get_json()["count"] == 0


def test_port_in_use_is_409(client: FlaskClient, keys: dict[str, str]) -> None:
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        response = client.post(
            "/v1/scada/runs", json={"plant": "water", "modbus": {"port": port}}, headers=auth(keys["generate"])
        )
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "PORT_IN_USE"


def test_run_commands_on_missing_or_foreign_runs(client: FlaskClient, db: Any, keys: dict[str, str]) -> None:
    from appliance.services import identity

    headers = auth(keys["generate"])
    run = start_run(client, headers, modbus={"port": free_port()})
    other = identity.create_key(db, identity.create_tenant(db, "globex")["id"], ["admin"])["api_key"]
    for method, path in [("GET", ""), ("POST", "/stop"), ("GET", "/map"), ("GET", "/values")]:
        assert client.open(f"/v1/scada/runs/{run['id']}{path}", method=method, headers=auth(other)).status_code == 404
    early = client.post(
        f"/v1/scada/runs/{run['id']}/attacks",
        headers=headers,
        json={"technique": "spoof", "duration": 5, "targets": ["LIT101"]},
    )
    assert early.status_code == 409  # no worker: the run never started
    assert client.post(f"/v1/scada/runs/{run['id']}/stop", headers=headers).get_json()["status"] == "canceled"
    assert client.get("/v1/scada/runs/run_00000000000000000000000000", headers=headers).status_code == 404


def test_a_refused_live_job_leaves_no_run_and_frees_its_port(client: FlaskClient, db: Any) -> None:
    """The run, its endpoints and its job commit together: a job the credit check refuses leaves no
    run, no endpoint and no job, so the port it asked for can be taken at once by another run."""
    from appliance.services import credits, identity

    broke = identity.create_tenant(db, "broke", credits=0)
    key = identity.create_key(db, broke["id"], ["generate", "read"])["api_key"]
    port = free_port()
    body = {"plant": "water", "seed": 3, "speed": 10, "modbus": {"port": port}}
    refused = client.post("/v1/scada/runs", json=body, headers=auth(key))
    assert refused.status_code == 429, refused.get_json()
    assert refused.get_json()["error"]["code"] == "CREDIT_LIMIT_EXCEEDED"
    assert client.get("/v1/scada/runs", headers=auth(key)).get_json()["count"] == 0
    assert client.get("/v1/jobs", headers=auth(key)).get_json()["count"] == 0
    endpoints = db.execute("SELECT COUNT(*) FROM scada_endpoints").fetchone()[0]
    assert endpoints == 0

    credits.top_up(db, broke["id"], 1000)
    accepted = client.post("/v1/scada/runs", json=body, headers=auth(key))
    assert accepted.status_code == 202, accepted.get_json()
    assert accepted.get_json()["job_id"]
