"""A paused LiveRun with real clients over loopback: the process freezes (no scan, no recording),
both servers keep their clients and answer reads with the frozen values, and every write is refused
the same way on each protocol (Modbus exception 6, OPC UA BadInvalidState, `PlantPausedError` from
the plant); after resume it steps on. And each server counts the clients connected now."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from asyncua import Client
from pymodbus.client import ModbusTcpClient

from simulators import LivePlant
from simulators.errors import PlantPausedError
from simulators.protocols import LiveRun, LiveRunConfig
from simulators.protocols.opcua_auth import OpcUaSecurity, Role
from simulators.protocols.register_map import RegisterMap
from tests.simulators.protocols.conftest import QUIET, STEADY
from tests.simulators.protocols.opcua_client import read_write_call


def wait_until(predicate: Any, timeout: float = 15.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def _run(tmp_path: Path) -> LiveRun:
    plant = LivePlant("water", STEADY, sensors=QUIET, scan_period=0.05)
    security = OpcUaSecurity(allow_none=True, sign_encrypt=False, anonymous_role=Role.OPERATOR)
    return LiveRun(
        plant,
        LiveRunConfig(modbus_port=0, opcua_port=0, opcua_security=security, record_path=tmp_path / "w.parquet"),
    )


def test_a_paused_plant_refuses_writes_and_keeps_its_values() -> None:
    plant = LivePlant("water", STEADY, sensors=QUIET)
    before = plant.read()
    plant.pause()
    with pytest.raises(PlantPausedError):
        plant.write("LIC101.SP", 3.3)
    with pytest.raises(PlantPausedError):
        plant.write_many({"LIC101.SP": 3.3, "LIC101.AUTO": False})
    assert plant.read() == before and plant.paused
    plant.resume()
    assert plant.write("LIC101.SP", 3.3) == 3.3


@pytest.mark.heavy
def test_pause_freezes_the_run_and_refuses_writes_on_every_protocol(tmp_path: Path) -> None:
    run = _run(tmp_path)
    run.start()
    try:
        host, port = run.modbus_address or ("", 0)
        points = {(p["tag"], p["encoding"]): p for p in RegisterMap.for_plant("water").to_dict()["points"]}
        setpoint = points[("LIC101.SP", "uint16")]
        modbus = ModbusTcpClient(host, port=port, timeout=3, retries=0)
        assert modbus.connect()
        wait_until(lambda: run.scans >= 3)
        frozen = run.pause()
        assert run.paused
        scans = run.scans
        assert frozen["scan"] == scans
        time.sleep(0.5)  # ten scan periods: none of them is stepped
        assert run.scans == scans and run.values()["time"] == frozen["time"]

        reading = modbus.read_holding_registers(setpoint["address"], count=1, device_id=1)
        assert not reading.isError()  # reads answer the frozen values
        busy = modbus.write_register(setpoint["address"], int(3.1 * setpoint["scale"]), device_id=1)
        assert busy.isError() and busy.exception_code == 6  # SERVER DEVICE BUSY

        async def opcua_while_paused() -> dict[str, object]:
            async with Client(run.opcua_endpoint or "") as client:
                return await read_write_call(client, "Start")  # read LIT101, write LIC101.SP, call P101 Start

        answers = asyncio.run(opcua_while_paused())
        assert answers == {"read": frozen["values"]["LIT101"], "write": "BadInvalidState", "call": "BadInvalidState"}
        assert run.plant.read_tag("LIC101.SP") == frozen["values"]["LIC101.SP"]  # nothing written

        run.resume()
        wait_until(lambda: run.scans > scans)
        assert not modbus.write_register(setpoint["address"], int(3.1 * setpoint["scale"]), device_id=1).isError()
        modbus.close()
    finally:
        summary = run.stop()
    assert pq.read_metadata(tmp_path / "w.parquet").num_rows == summary["scans"] + 1  # one row per scan


@pytest.mark.heavy
def test_clients_are_counted_per_protocol(tmp_path: Path) -> None:
    run = _run(tmp_path)
    run.start()
    try:
        assert run.clients() == {"modbus": 0, "opcua": 0}
        host, port = run.modbus_address or ("", 0)
        modbus = [ModbusTcpClient(host, port=port, timeout=3, retries=0) for _ in range(2)]
        assert all(client.connect() for client in modbus)

        async def with_session() -> None:
            async with Client(run.opcua_endpoint or ""):
                wait_until(lambda: run.clients() == {"modbus": 2, "opcua": 1})

        asyncio.run(with_session())
        for client in modbus:
            client.close()
        wait_until(lambda: run.clients() == {"modbus": 0, "opcua": 0})
    finally:
        run.stop()
