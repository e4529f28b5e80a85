"""Several live runs at once, a run's readiness, and the addresses runs may bind.

Runs of two tenants serve at the same time from one `sim` worker; a submit over `[scada] max_runs`
or `max_runs_per_tenant` is refused with 409 LIVE_RUN_LIMIT (checked atomically, so concurrent
submits cannot overshoot); a run reads `running` only once each endpoint accepts connections;
`host` picks among `[scada] allowed_hosts` and the run shows what it bound.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pymodbus.client import ModbusTcpClient

from appliance.services import identity
from tests.api.scada.conftest import SimAppliance
from tests.api.scada.test_live_runs import start_run, until
from tests.conftest import auth, free_port, wait_for

BODY = {"plant": "water", "seed": 3, "speed": 10, "params": {"demand_variability": 0.0}}


def submit(client: FlaskClient, headers: dict[str, str], **extra: Any) -> Any:
    return client.post("/v1/scada/runs", json={**BODY, "modbus": {"port": fresh_port()}, **extra}, headers=headers)


_given: set[int] = set()


def fresh_port() -> int:
    """A free port no earlier call in this process returned (two runs must never ask for the same)."""
    while (port := free_port()) in _given:
        pass
    _given.add(port)
    return port


def two_ports() -> tuple[int, int]:
    return fresh_port(), fresh_port()


def other_tenant(db: Any, name: str = "globex") -> dict[str, str]:
    tenant = identity.create_tenant(db, name, credits=1000)
    return auth(identity.create_key(db, tenant["id"], ["generate"])["api_key"])


def connects(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def when_running(client: FlaskClient, headers: dict[str, str], run_id: str, timeout: float = 60) -> dict[str, Any]:
    """Poll the run until it says `running` (failing fast if it ends instead)."""

    def check() -> Any:
        run = client.get(f"/v1/scada/runs/{run_id}", headers=headers).get_json()
        assert run["status"] in ("starting", "running"), run
        return run if run["status"] == "running" else None

    return until(check, timeout)


def stop(client: FlaskClient, headers: dict[str, str], run: dict[str, Any]) -> None:
    client.post(f"/v1/scada/runs/{run['id']}/stop", headers=headers)
    wait_for(client, headers, run["job_id"], {"succeeded", "failed", "canceled"}, timeout=60)


def test_two_tenants_serve_at_once(sim_appliance: SimAppliance, sim_keys: dict[str, str]) -> None:
    client = sim_appliance.client
    acme, globex = auth(sim_keys["generate"]), other_tenant(sim_appliance.db, "globex-two-at-once")
    runs = [
        (headers, start_run(client, headers, modbus={"port": fresh_port()}, opcua={"port": fresh_port()}))
        for headers in (acme, globex)
    ]
    try:
        for headers, run in runs:  # neither has a duration: the first would hold a single slot for ever
            seen = when_running(client, headers, run["id"])
            assert [(e["protocol"], e["state"]) for e in seen["endpoints"]] == [
                ("modbus", "accepting"),
                ("opcua", "accepting"),
            ]
            modbus = ModbusTcpClient("127.0.0.1", port=run["modbus"]["port"], timeout=3, retries=0)
            assert modbus.connect()
            try:
                assert not modbus.read_input_registers(0, count=1, device_id=1).isError()
            finally:
                modbus.close()
            assert connects(run["endpoints"][1]["port"])
    finally:
        for headers, run in runs:
            stop(client, headers, run)
    for headers, run in runs:
        final = client.get(f"/v1/scada/runs/{run['id']}", headers=headers).get_json()
        assert final["status"] == "stopped" and {e["state"] for e in final["endpoints"]} == {"closed"}


@pytest.fixture
def limited(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["scada"] = {"max_runs": 3, "max_runs_per_tenant": 2}
    return app_config


def test_limits_answer_409_naming_the_limit(
    limited: dict[str, Any], client: FlaskClient, db: Any, keys: dict[str, str]
) -> None:
    """No worker: submitted runs stay `starting`, which holds a slot like `running` does."""
    acme, globex = auth(keys["generate"]), other_tenant(db)
    first = start_run(client, acme, modbus={"port": fresh_port()})
    start_run(client, acme, modbus={"port": fresh_port()})
    third = submit(client, acme)
    assert third.status_code == 409, third.get_json()
    error = third.get_json()["error"]
    assert error["code"] == "LIVE_RUN_LIMIT" and "[scada] max_runs_per_tenant" in error["message"]
    assert "2" in error["message"] and "max_runs_per_tenant" in error["hint"]

    start_run(client, globex, modbus={"port": fresh_port()})
    over = submit(client, globex)
    assert over.status_code == 409
    assert over.get_json()["error"]["code"] == "LIVE_RUN_LIMIT"
    assert "[scada] max_runs)" in over.get_json()["error"]["message"]

    assert client.post(f"/v1/scada/runs/{first['id']}/stop", headers=acme).get_json()["status"] == "canceled"
    assert submit(client, acme).status_code == 202
    listed = client.get("/v1/scada/runs", headers=acme).get_json()
    assert listed["count"] == 3  # the refused submits left no run behind


def test_concurrent_submits_never_overshoot(limited: dict[str, Any], app: Flask, db: Any) -> None:
    tenants = [other_tenant(db, f"t{i}") for i in range(4)]
    answers: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def race(headers: dict[str, str]) -> None:
        client = app.test_client()
        barrier.wait()
        status = submit(client, headers)
        with lock:
            answers.append(status.status_code)

    threads = [threading.Thread(target=race, args=(tenants[i % 4],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [202] * 3 + [409] * 5


def test_port_held_by_another_run_is_409(client: FlaskClient, db: Any, keys: dict[str, str]) -> None:
    port = fresh_port()
    start_run(client, auth(keys["generate"]), modbus={"port": port})
    clash = client.post("/v1/scada/runs", json={**BODY, "opcua": {"port": port}}, headers=other_tenant(db))
    assert clash.status_code == 409
    assert clash.get_json()["error"]["code"] == "PORT_IN_USE"
    assert f"opcua.port {port} is held by another live run" in clash.get_json()["error"]["message"]


def test_port_taken_before_the_worker_binds_fails_the_run_clearly(
    client: FlaskClient, keys: dict[str, str], start_worker: Any
) -> None:
    headers = auth(keys["generate"])
    port = fresh_port()
    run = start_run(client, headers, modbus={"port": port})
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        start_worker("sim")
        job = wait_for(client, headers, run["job_id"], {"succeeded", "failed"}, timeout=60)
    assert job["status"] == "failed" and job["error"]["code"] == "PORT_UNAVAILABLE"
    seen = client.get(f"/v1/scada/runs/{run['id']}", headers=headers).get_json()
    assert seen["status"] == "failed"
    (endpoint,) = seen["endpoints"]
    assert endpoint["state"] == "failed" and f"127.0.0.1:{port}" in endpoint["error"]


def test_running_means_every_endpoint_accepts(sim_appliance: SimAppliance, sim_keys: dict[str, str]) -> None:
    """Each time GET first says `running`, both servers take a connection at once."""
    client, headers = sim_appliance.client, auth(sim_keys["generate"])
    for _ in range(3):
        ports = two_ports()
        run = start_run(client, headers, modbus={"port": ports[0]}, opcua={"port": ports[1]})
        try:
            seen = when_running(client, headers, run["id"])
            assert connects(ports[0]) and connects(ports[1])
            assert [e["state"] for e in run["endpoints"]] == ["starting", "starting"]
            assert [(e["port"], e["state"]) for e in seen["endpoints"]] == [(p, "accepting") for p in ports]
        finally:
            stop(client, headers, run)


def test_a_host_not_allowed_is_400_naming_the_allowed_ones(client: FlaskClient, keys: dict[str, str]) -> None:
    response = submit(client, auth(keys["generate"]), host="10.9.8.7")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_FAILED" and [d["field"] for d in error["details"]] == ["host"]
    assert "allowed: 127.0.0.1" in error["details"][0]["message"] and "[scada] allowed_hosts" in error["message"]
    assert client.get("/v1/scada/runs", headers=auth(keys["read"])).get_json()["count"] == 0


@pytest.fixture
def absent_host(app_config: dict[str, Any]) -> str:
    app_config["scada"] = {"allowed_hosts": ["127.0.0.1", "192.0.2.7"]}  # TEST-NET-1: on no interface here
    return "192.0.2.7"


def test_an_allowed_host_missing_from_this_box_is_400(
    absent_host: str, client: FlaskClient, keys: dict[str, str]
) -> None:
    response = submit(client, auth(keys["generate"]), host="192.0.2.7")
    assert response.status_code == 400
    assert "192.0.2.7 is not an address of this appliance" in response.get_json()["error"]["message"]


@pytest.fixture
def every_interface(app_config: dict[str, Any]) -> None:
    app_config["scada"] = {"allowed_hosts": "127.0.0.1, 0.0.0.0"}  # as SEALFORGE_SCADA_ALLOWED_HOSTS gives it


def test_the_run_shows_the_address_it_bound(
    every_interface: None, client: FlaskClient, keys: dict[str, str], start_worker: Any
) -> None:
    start_worker("sim")
    headers = auth(keys["generate"])
    run = start_run(client, headers, host="0.0.0.0", modbus={"port": fresh_port()})
    try:
        assert run["host"] == "0.0.0.0" and run["modbus"]["host"] == "0.0.0.0"
        seen = when_running(client, headers, run["id"])
        (endpoint,) = seen["endpoints"]
        assert (endpoint["protocol"], endpoint["address"], endpoint["state"]) == ("modbus", "0.0.0.0", "accepting")
        assert connects(endpoint["port"], "127.0.0.1")
    finally:
        stop(client, headers, run)
    default = start_run(client, headers, modbus={"port": fresh_port()})
    assert default["host"] == "127.0.0.1" and default["endpoints"][0]["address"] == "127.0.0.1"


@pytest.fixture
def interface_name(app_config: dict[str, Any]) -> None:
    app_config["scada"] = {"allowed_hosts": ["127.0.0.1", "eth0"]}


def test_a_config_naming_no_address_is_refused_clearly(
    interface_name: None, client: FlaskClient, keys: dict[str, str]
) -> None:
    response = submit(client, auth(keys["generate"]))
    assert response.status_code == 503
    assert "'eth0' is not an IPv4 address" in response.get_json()["error"]["message"]
