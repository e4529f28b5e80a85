"""The Modbus connector polling the appliance's own Modbus simulator (a live water plant served by
`simulators.protocols.modbus`) over loopback: browse, a recorded register map, the diagnoses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from appliance.services.connectors import environment
from appliance.services.connectors.base import ConnectorError
from appliance.services.connectors.modbus import ModbusConnector
from simulators.protocols.modbus import ModbusPlantServer
from simulators.protocols.register_map import FLOAT_BASE, HOLDING
from tests.connector_servers import _free_port
from tests.simulators.protocols.conftest import LoopThread, water_plant

UNIT = 3


@pytest.fixture(scope="module")
def plc() -> Iterator[ModbusPlantServer]:
    loop = LoopThread()
    server = ModbusPlantServer(water_plant(), port=0, unit_id=UNIT)
    loop.run(server.start())
    yield server
    loop.run(server.stop())
    loop.close()


def _connector(server: ModbusPlantServer, **over: Any) -> ModbusConnector:
    settings = {"host": "127.0.0.1", "port": server.port, "unit_id": UNIT, **over}
    return ModbusConnector(settings, environment({"webhooks": {}, "connectors": {"timeout_s": 2}}))


def _float_points(server: ModbusPlantServer, n: int) -> list[dict[str, Any]]:
    points = [p for p in server.register_map.tables[HOLDING].points if p.encoding == "float32"][:n]
    return [{"name": p.tag, "table": "holding", "address": p.address, "encoding": "float32"} for p in points]


def test_test_browse_and_record(plc: ModbusPlantServer) -> None:
    con = _connector(plc)
    assert con.test() == {"unit_id": UNIT, "holding_0_readable": True}
    assert [e.name for e in con.browse("", None, 10).entries] == ["holding", "input", "coil", "discrete"]
    mapped = len([p for p in plc.register_map.tables[HOLDING].points if p.address < FLOAT_BASE])
    first = con.browse("holding", None, 2)
    assert [e.name for e in first.entries] == ["0", "1"] and first.next_cursor == "1"
    whole = con.browse("holding", None, 200)
    assert len(whole.entries) == mapped and whole.next_cursor is None
    points = _float_points(plc, 2)
    stream = con.read({"points": points, "interval_s": 0.05, "samples": 4})
    lines = b"".join(stream.chunks).decode().splitlines()
    assert lines[0] == "time," + ",".join(p["name"] for p in points) and len(lines) == 5
    live = plc.plant.read()
    values = [float(v) for v in lines[-1].split(",")[1:]]
    for point, value in zip(points, values, strict=True):
        assert value == pytest.approx(float(live[point["name"]]), rel=0.05, abs=0.5)


def test_diagnoses(plc: ModbusPlantServer) -> None:
    with pytest.raises(ConnectorError) as refused:
        _connector(plc, port=_free_port()).test()
    assert refused.value.diagnosis == "refused"
    with pytest.raises(ConnectorError) as unmapped:
        b"".join(
            _connector(plc).read({"points": [{"name": "x", "address": 60000}], "interval_s": 1, "samples": 1}).chunks
        )
    assert unmapped.value.diagnosis == "not_found"
    with pytest.raises(ConnectorError) as other_unit:
        _connector(plc, unit_id=UNIT + 1).test()
    assert other_unit.value.diagnosis in ("timeout", "unreachable", "protocol")
    with pytest.raises(ConnectorError) as outside:
        _connector(plc, host="8.8.8.8").test()
    assert outside.value.diagnosis == "not_allowed"


def test_closing_stops_the_poll(plc: ModbusPlantServer) -> None:
    stream = _connector(plc).read({"points": _float_points(plc, 1), "interval_s": 30, "samples": 1000})
    header, first = next(stream.chunks), next(stream.chunks)
    assert header.startswith(b"time,") and first.count(b",") == 1
    assert next(stream.chunks) == b""  # waiting for the next tick: the reader can check its cancel flag
    stream.close()
    assert list(stream.chunks) == []
