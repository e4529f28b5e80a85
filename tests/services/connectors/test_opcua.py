"""The OPC UA connector against the appliance's own OPC UA simulator (a live water plant served by
`simulators.protocols.opcua`, the None endpoint with anonymous read) over loopback: browse the
address space, record tags by subscription for a window while the plant runs, the diagnoses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from appliance.services.connectors import environment
from appliance.services.connectors.base import ConnectorError
from appliance.services.connectors.opcua import OpcUaConnector
from tests.connector_servers import RunningPlant, _free_port


@pytest.fixture(scope="module")
def running() -> Iterator[RunningPlant]:
    plant = RunningPlant()
    yield plant
    plant.close()


def _connector(url: str, **credentials: Any) -> OpcUaConnector:
    return OpcUaConnector(
        {"endpoint_url": url}, credentials, environment({"webhooks": {}, "connectors": {"timeout_s": 3}})
    )


def test_browse_and_record(running: RunningPlant) -> None:
    con = _connector(running.server.endpoint)
    assert con.test()["objects"] >= 2
    top = con.browse("", None, 50)
    water = next(e for e in top.entries if e.name == "water")
    folders = con.browse(water.path, None, 100)
    p101 = next(e for e in folders.entries if e.name == "P101")
    inside = {e.name: e for e in con.browse(p101.path, None, 100).entries}
    assert inside["P101.RUN"].kind == "variable" and inside["Start"].kind == "method"
    first = con.browse(water.path, None, 2)
    assert len(first.entries) == 2 and first.next_cursor == "2"
    ns = running.server.namespace_index()
    stream = con.read(
        {"nodes": [f"ns={ns};s=LIT101", f"ns={ns};s=FIT101"], "duration_s": 1.5, "publishing_interval_ms": 100}
    )
    lines = [line for line in b"".join(stream.chunks).decode().splitlines() if line]
    assert lines[0] == "time,node,name,value,status"
    names = {line.split(",")[2] for line in lines[1:]}
    assert names == {"LIT101", "FIT101"} and len(lines) > 3


def test_diagnoses(running: RunningPlant) -> None:
    with pytest.raises(ConnectorError) as refused:
        _connector(f"opc.tcp://127.0.0.1:{_free_port()}/").test()
    assert refused.value.diagnosis == "refused"
    with pytest.raises(ConnectorError) as unknown:
        _connector(running.server.endpoint).browse("ns=2;s=NO_SUCH_NODE", None, 10)
    assert unknown.value.diagnosis == "not_found"
    with pytest.raises(ConnectorError) as login:
        _connector(running.server.endpoint, username="intruder", password="guess").test()
    assert login.value.diagnosis in ("auth", "tls")
    with pytest.raises(ConnectorError) as outside:
        _connector("opc.tcp://8.8.8.8:4840/")
    assert outside.value.diagnosis == "not_allowed"


def test_closing_ends_the_window(running: RunningPlant) -> None:
    ns = running.server.namespace_index()
    stream = _connector(running.server.endpoint).read({"nodes": [f"ns={ns};s=LIT101"], "duration_s": 3600})
    assert next(stream.chunks).startswith(b"time,node")
    stream.close()  # ends the hour-long window now: what was recorded is drained, then the stream ends
    assert all(chunk.count(b",") == 4 for chunk in stream.chunks if chunk)
