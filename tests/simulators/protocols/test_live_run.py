"""LiveRun: real-time stepping, both servers, the Parquet recording and attacks injected while running."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from asyncua import Client, ua
from pymodbus.client import ModbusTcpClient

from simulators import LivePlant, SimulationParamError
from simulators.dataset import simulate
from simulators.protocols import LiveRun, LiveRunConfig, live_attacks
from tests.simulators.protocols.conftest import QUIET, STEADY, port_is_free


def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.mark.heavy
def test_live_attack_shows_in_served_values_and_labels(tmp_path: Path) -> None:
    path = tmp_path / "run" / "power.parquet"
    snapshots: list[dict[str, Any]] = []
    run = LiveRun("power", LiveRunConfig(scan_period=0.05, sensors=QUIET, modbus_port=0, opcua_port=0, record_path=path,
                                         chunk_rows=16, on_scan=snapshots.append))
    run.start()
    try:
        assert run.modbus_address is not None and run.opcua_endpoint is not None
        host, port = run.modbus_address
        client = ModbusTcpClient(host, port=port, timeout=3, retries=0)
        assert client.connect()
        breaker = run.modbus.register_map.point("CB1") if run.modbus else None
        assert breaker is not None
        assert client.read_discrete_inputs(breaker.address, count=1).bits[0] is True
        scenario = run.inject_attack({"technique": "T0855", "duration": 3.0, "targets": ["CB1.CMD"],
                                      "magnitude": 0})
        assert scenario["attack_id"] == "A001" and scenario["attack_type"] == "unauthorized_command"
        wait_until(lambda: run.values()["active_attacks"] == ["A001"])
        wait_until(lambda: client.read_discrete_inputs(breaker.address, count=1).bits[0] is False)

        async def opcua_breaker() -> bool:
            async with Client(run.opcua_endpoint) as ua_client:  # type: ignore[arg-type]
                return bool(await ua_client.get_node(ua.NodeId("CB1", 2)).read_value())  # type: ignore[arg-type]

        wait_until(lambda: asyncio.run(opcua_breaker()) is False)
        wait_until(lambda: run.values()["active_attacks"] == [])
        wait_until(lambda: client.read_discrete_inputs(breaker.address, count=1).bits[0] is True)
        client.close()
    finally:
        summary = run.stop()
    assert port_is_free(host, port)
    assert summary["attacks"][0]["attack_id"] == "A001" and summary["recording"]["rows"] == summary["scans"] + 1
    table = pq.read_table(path)
    assert table.num_rows == summary["scans"] + 1 and summary["recording"]["row_groups"] >= 2
    assert table.column_names[0] == "timestamp" and table.column_names[-4:] == ["attack", "attack_id", "technique",
                                                                                 "attack_type"]
    rows = table.to_pylist()
    labelled = [r for r in rows if r["attack"] == 1]
    assert len(labelled) == 60  # 3 s at 0.05 s per scan
    assert {(r["attack_id"], r["technique"], r["attack_type"]) for r in labelled} == {
        ("A001", "T0855", "unauthorized_command")}
    assert all(r["CB1"] == 0 for r in labelled[2:])  # the breaker opens within two scans
    assert rows[0]["attack"] == 0 and rows[-1]["attack"] == 0
    by_scan = {s["scan"]: s for s in snapshots}
    assert len(by_scan) == len(rows)
    assert [by_scan[i]["attack"] for i in range(len(rows))] == [r["attack"] for r in rows]


def test_field_attack_and_replay_injected_live() -> None:
    run = LiveRun("water", LiveRunConfig(params=STEADY, scan_period=0.02, sensors=QUIET))
    run.start()
    try:
        wait_until(lambda: run.values()["scan"] >= 60)
        level = run.values()["values"]["LIT101"]
        run.inject_attack({"technique": "spoof", "duration": 1, "targets": ["LIT101"], "magnitude": 1.0})
        wait_until(lambda: run.values()["active_attacks"] == ["A001"])
        assert run.values()["values"]["LIT101"] == pytest.approx(level + 1.0, abs=0.05)
        wait_until(lambda: run.values()["active_attacks"] == [])
        seen: list[float] = []
        run.add_scan_callback(lambda snap: seen.append(snap["values"]["FIT201"]) if snap["attack"] else None)
        replay = run.inject_attack({"technique": "replay", "duration": 1.0, "targets": ["FIT201"]})
        assert replay["attack_id"] == "A002"
        wait_until(lambda: len(seen) >= 40)
        recent = [row["FIT201"] for row in list(run._history)[-200:]]
        assert all(v in recent for v in seen)  # replayed readings, not zeros or frozen values
    finally:
        run.stop()


def test_bad_injections_name_the_field() -> None:
    run = LiveRun("chemical", LiveRunConfig(scan_period=0.05))
    with run:
        with pytest.raises(SimulationParamError) as err:
            run.inject_attack({"technique": "nope", "duration": 1, "targets": ["TT101"]})
        assert err.value.field == "attack.technique"
        with pytest.raises(SimulationParamError) as err:
            run.inject_attack({"technique": "spoof", "duration": 1, "targets": ["TT101"], "magnitude": 1, "start": 0,
                               "delay": 1})
        assert err.value.field == "attack.delay"
        with pytest.raises(SimulationParamError) as err:
            run.inject_attack({"technique": "spoof", "duration": 1, "targets": ["XV103"], "magnitude": 1})
        assert err.value.field == "attack.targets[0]"
        ok = run.inject_attack({"id": "late", "technique": "T0836", "delay": 100, "duration": 5,
                                "targets": ["TIC101.SP"], "magnitude": 400})
        assert ok["start_s"] >= 100
        with pytest.raises(SimulationParamError) as err:
            run.inject_attack({"id": "late", "technique": "freeze", "duration": 1, "targets": ["TT101"]})
        assert err.value.field == "attack.id"
    assert [s["attack_id"] for s in run.scenarios()] == ["late"]


def test_inject_on_a_plain_live_plant_and_planned_attacks_keep_their_labels() -> None:
    plant = LivePlant("power", attacks=[{"technique": "T0832", "start": 2, "duration": 3, "targets": ["V_B1"],
                                         "magnitude": 1.0}])
    plant.step(3)
    assert plant.snapshot()["active_attacks"] == ["A001"]
    injected = live_attacks.inject(plant, {"technique": "T0855", "duration": 3, "targets": ["CB1.CMD"],
                                           "magnitude": 0})
    assert injected.attack_id == "A002" and injected.start == 4.0  # the next scan
    plant.step()
    assert plant.snapshot()["active_attacks"] == ["A001", "A002"]
    plant.step(2)
    assert plant.snapshot()["active_attacks"] == ["A002"] and plant.read_tag("CB1") is False
    assert [s.attack_id for s in live_attacks.scenarios(plant)] == ["A001", "A002"]


def test_run_blocks_until_cancelled_and_ticks(tmp_path: Path) -> None:
    stop = threading.Event()
    ticks: list[int] = []

    def on_tick(run: LiveRun) -> None:
        ticks.append(run.scans)
        if run.scans >= 20:
            stop.set()

    run = LiveRun("water", LiveRunConfig(scan_period=0.01, speed=2.0, record_path=tmp_path / "w.parquet"))
    summary = run.run(30, cancel=stop.is_set, on_tick=on_tick, tick_s=0.02)
    assert stop.is_set() and ticks and summary["scans"] >= 20
    assert summary["lag_s"] >= 0  # reported; how far behind a loaded box falls is not a test assertion
    assert pq.read_metadata(tmp_path / "w.parquet").num_rows == summary["scans"] + 1
    assert not (tmp_path / "w.parquet.part").exists()


def test_speed_and_port_errors(tmp_path: Path) -> None:
    with pytest.raises(SimulationParamError) as refused:
        LiveRun("water", LiveRunConfig(speed=0))
    assert refused.value.field == "speed"
    with pytest.raises(SimulationParamError):
        LiveRunConfig(speed=True).validate()
    first = LiveRun("water", LiveRunConfig(modbus_port=0))
    first.start()
    try:
        _, port = first.modbus_address or ("", 0)
        clash = LiveRun("water", LiveRunConfig(modbus_port=port, record_path=tmp_path / "never.parquet"))
        with pytest.raises(OSError):
            clash.start()
        assert not list(tmp_path.iterdir())  # a run that never served leaves no file
    finally:
        first.stop()


def test_recording_carries_quality_as_the_dataset_does(tmp_path: Path) -> None:
    """The recording has a `quality:<sensor>` int8 column per sensor, named, typed and placed as in
    a `simulate` dataset, and a reading spoofed past its range is recorded pinned at the range end
    with quality 1 for exactly the attacked scans."""
    path = tmp_path / "w.parquet"
    attack = {"technique": "spoof", "start": 0.2, "duration": 0.4, "targets": ["LIT101"], "magnitude": 4.0}
    run = LiveRun("water", LiveRunConfig(params=STEADY, scan_period=0.02, sensors=QUIET, record_path=path,
                                         attacks=[attack], chunk_rows=8))
    run.start()
    try:
        wait_until(lambda: run.values()["scan"] >= 50)
    finally:
        run.stop()
    table = pq.read_table(path)
    dataset = simulate({"plant": "water", "duration": 10, "seed": 1}).table
    assert table.schema.names == dataset.schema.names
    for name in dataset.schema.names:
        assert table.schema.field(name).type == dataset.schema.field(name).type, name
        assert table.schema.field(name).metadata == dataset.schema.field(name).metadata, name
    rows = table.to_pylist()
    attacked = [r for r in rows if r["attack"] == 1]
    assert len(attacked) == 20  # 0.4 s at 0.02 s per scan
    assert all(r["quality:LIT101"] == 1 and r["LIT101"] == 5.5 for r in attacked)
    assert all(r["quality:LIT101"] == 0 and r["LIT101"] < 5.5 for r in rows if r["attack"] == 0)
    assert {r[f"quality:{s}"] for r in rows for s in ("LIT102", "FIT101", "AIT201")} == {0}
