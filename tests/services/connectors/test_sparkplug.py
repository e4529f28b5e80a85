"""The Sparkplug B connector against Debian's mosquitto: an edge node publishes real NBIRTH,
DBIRTH and alias-only DDATA payloads; a recording resolves the aliases from the births, skips and
counts what it cannot decode or resolve; browse shows groups, nodes, devices and metrics; the
diagnoses (wrong password, nothing listening, outside the allowed networks) and a cancel."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.services.connectors import environment
from appliance.services.connectors.base import ConnectorError
from appliance.services.connectors.sparkplug import Decoder, SparkplugConnector
from tests.connector_servers import MqttBroker, _free_port
from tests.sparkplug_node import BIRTH_MS, EdgeNode, wire_nbirth

pytestmark = pytest.mark.xdist_group("mqtt")


def _connector(broker: MqttBroker, user: str = "plant", password: str | None = None, **over: Any) -> SparkplugConnector:
    assert broker.users is not None
    settings = {"host": "127.0.0.1", "port": broker.port, "browse_s": 1.5, **over}
    credentials = {"username": user, "password": broker.users[user] if password is None else password}
    return SparkplugConnector(settings, credentials, environment({"webhooks": {}, "connectors": {"timeout_s": 3}}))


@pytest.fixture
def node(broker: MqttBroker) -> Iterator[EdgeNode]:
    edge = EdgeNode(broker)
    yield edge
    edge.close()


def _rows(chunks: Iterator[bytes], head: bytes = b"") -> list[dict[str, str]]:
    """The CSV rows of a stream whose header chunk (`head`) the test may have taken already."""
    return list(csv.DictReader(io.StringIO((head + b"".join(chunks)).decode())))


def test_the_wire_format_by_hand() -> None:
    """Bytes written from the spec's field numbers, not by the schema, decode to what they say."""
    decoder = Decoder()
    rows = decoder.rows("spBv1.0/site/NBIRTH/edge", wire_nbirth(), "2026-01-01T00:00:00.000Z")
    assert rows == [
        ["2025-12-01T00:00:00.000Z", "site", "edge", "", "NBIRTH", "Temperature", "Double", 21.5, None],
        ["2025-12-01T00:00:00.000Z", "site", "edge", "", "NBIRTH", "Offset", "Int32", -7, None],
    ]
    assert decoder.aliases[("site", "edge")] == {1: ("Temperature", 10), 2: ("Offset", 3)}


def test_record_resolves_aliases_and_counts_what_it_skips(broker: MqttBroker, node: EdgeNode) -> None:
    con = _connector(broker)
    assert con.test() == {"connected": True, "protocol": "MQTT 5", "namespace": "spBv1.0"}
    stream = con.read({"group": "plant1", "duration_s": 10, "max_messages": 6})
    header = next(stream.chunks)
    assert header.startswith(b"time,group,node,device,message,metric")

    def publish() -> None:
        node.device_data(9.9, BIRTH_MS + 500)  # before any birth in the window: its aliases mean nothing yet
        node.births()
        node.device_data(2.25, BIRTH_MS + 1000)
        node.send(node.topic("DDATA", "pump1"), b"\xff\xff\xff")  # not a protobuf payload
        node.device_data(2.5, BIRTH_MS + 2000)

    feeder = threading.Thread(target=publish)
    feeder.start()
    rows = _rows(stream.chunks, header)
    feeder.join()
    got = [(r["message"], r["device"], r["metric"], r["datatype"], r["value"], r["text"]) for r in rows]
    assert got == [
        ("NBIRTH", "", "bdSeq", "Int64", "0", ""),
        ("NBIRTH", "", "Node Control/Rebirth", "Boolean", "0", ""),
        ("NBIRTH", "", "Uptime", "UInt64", "7", ""),
        ("DBIRTH", "pump1", "Flow", "Double", "1.5", ""),
        ("DBIRTH", "pump1", "Running", "Boolean", "1", ""),
        ("DBIRTH", "pump1", "Mode", "String", "", "auto"),
        ("DBIRTH", "pump1", "Temp", "Float", "21.5", ""),
        ("DBIRTH", "pump1", "Offset", "Int16", "-5", ""),
        ("DDATA", "pump1", "Flow", "Double", "2.25", ""),
        ("DDATA", "pump1", "Offset", "Int16", "-9", ""),
        ("DDATA", "pump1", "Flow", "Double", "2.5", ""),
        ("DDATA", "pump1", "Offset", "Int16", "-9", ""),
    ]
    assert {r["group"] for r in rows} == {"plant1"} and {r["node"] for r in rows} == {"gw1"}
    assert rows[8]["time"] == "2025-12-01T00:00:01.000Z" and rows[0]["time"] == "2025-12-01T00:00:00.000Z"
    counts = stream.description["counts"]
    assert counts == {
        "messages": 6,
        "rows": 12,
        "undecodable": 1,
        "unresolved": 2,
        "unsupported": 0,
        "ignored": 0,
        "rebirths": 0,
    }
    assert not node.rebirth_asked.is_set()  # nobody asked the plant for anything


def test_rebirth_names_the_aliases_of_a_node_born_before_the_window(broker: MqttBroker, node: EdgeNode) -> None:
    node.births()  # before the window opens: the recording never hears these
    stream = _connector(broker).read({"group": "plant1", "duration_s": 15, "max_messages": 4, "rebirth": True})
    header = next(stream.chunks)
    asked: list[bool] = []

    def publish() -> None:
        node.device_data(5.0, BIRTH_MS + 1000)  # aliases this window cannot name: the connector asks
        asked.append(node.rebirth_asked.wait(10))
        node.births()
        node.device_data(6.0, BIRTH_MS + 2000)

    feeder = threading.Thread(target=publish)
    feeder.start()
    rows = _rows(stream.chunks, header)
    feeder.join()
    assert asked == [True]
    flows = [(r["message"], r["value"]) for r in rows if r["metric"] == "Flow"]
    assert flows == [("DBIRTH", "1.5"), ("DDATA", "6.0")]
    counts = stream.description["counts"]
    assert counts["rebirths"] == 1 and counts["unresolved"] == 2 and counts["ignored"] == 1  # its own NCMD


def test_metric_filter_and_a_device(broker: MqttBroker, node: EdgeNode) -> None:
    stream = _connector(broker).read(
        {"group": "plant1", "node": "gw1", "device": "pump1", "metrics": ["Flow"], "duration_s": 10, "max_messages": 2}
    )
    header = next(stream.chunks)

    def publish() -> None:
        node.births()
        node.device_data(3.0, BIRTH_MS + 1000)

    feeder = threading.Thread(target=publish)
    feeder.start()
    rows = _rows(stream.chunks, header)
    feeder.join()
    assert [(r["message"], r["metric"], r["value"]) for r in rows] == [
        ("DBIRTH", "Flow", "1.5"),
        ("DDATA", "Flow", "3.0"),
    ]


def test_browse_shows_the_tree_it_heard(broker: MqttBroker, node: EdgeNode) -> None:
    con, stop = _connector(broker), threading.Event()

    def talk() -> None:
        while not stop.wait(0.2):
            node.births()
            node.device_data(1.0, BIRTH_MS + 1000)

    feeder = threading.Thread(target=talk)
    feeder.start()
    try:
        groups = con.browse("", None, 10).entries
        at_node = {e.name: e for e in con.browse("plant1/gw1", None, 10).entries}
        device = {e.name: e for e in con.browse("plant1/gw1/pump1", None, 2).entries}
        with pytest.raises(ConnectorError) as missing:
            con.browse("plant1/nobody", None, 10)
    finally:
        stop.set()
        feeder.join()
    assert [(g.name, g.kind, g.detail) for g in groups] == [("plant1", "group", {"nodes": 1})]
    assert at_node["pump1"].kind == "device" and at_node["pump1"].path == "plant1/gw1/pump1"
    assert at_node["Uptime"].kind == "metric" and at_node["Uptime"].detail == {"datatype": "UInt64"}
    assert [(e.name, e.detail["datatype"]) for e in device.values()] == [("Flow", "Double"), ("Mode", "String")]
    assert missing.value.diagnosis == "not_found"


def test_diagnoses_and_cancel(broker: MqttBroker) -> None:
    with pytest.raises(ConnectorError) as wrong:
        _connector(broker, password="not-it").test()
    assert wrong.value.diagnosis == "auth" and "not-it" not in wrong.value.message
    with pytest.raises(ConnectorError) as refused:
        _connector(broker, port=_free_port()).test()
    assert refused.value.diagnosis == "refused"
    with pytest.raises(ConnectorError) as outside:
        _connector(broker, host="8.8.8.8").test()
    assert outside.value.diagnosis == "not_allowed"
    stream = _connector(broker).read({"duration_s": 3600})
    assert next(stream.chunks).startswith(b"time,")
    stream.close()  # a cancel: the hour-long window ends now, with nothing more to read
    assert list(stream.chunks) == []


def test_a_namespace_of_garbage_is_an_error(broker: MqttBroker, node: EdgeNode) -> None:
    stream = _connector(broker).read({"group": "plant1", "duration_s": 10, "max_messages": 2})
    next(stream.chunks)

    def publish() -> None:
        for _ in range(2):
            node.send(node.topic("NDATA"), b"\x0f")  # field 1 with wire type 7, which does not exist

    feeder = threading.Thread(target=publish)
    feeder.start()
    with pytest.raises(ConnectorError) as garbage:
        list(stream.chunks)
    feeder.join()
    assert garbage.value.diagnosis == "invalid" and "not Sparkplug B payloads" in garbage.value.message


def test_deliver_rows_as_an_edge_node(broker: MqttBroker, tmp_path: Path) -> None:
    artifact = tmp_path / "synthetic.csv"
    artifact.write_text(
        "time,flow,running,mode,count\n"
        "2024-01-01T00:00:00Z,1.5,true,auto,-3\n"
        "2024-01-01T00:00:01Z,1.75,false,manual,4\n"
        "2024-01-01T00:00:02Z,2.0,true,auto,5\n"
    )
    con = _connector(broker)
    listen = con.read({"group": "synth", "duration_s": 10, "max_messages": 4})  # the births and two DDATA
    header = next(listen.chunks)
    target = {"group": "synth", "node": "sealforge", "device": "plant", "time_column": "time"}
    written = con.write(target, "synthetic.csv", "csv", artifact)
    assert written == {"group": "synth", "node": "sealforge", "device": "plant", "messages": 5}  # and NDEATH
    rows = _rows(listen.chunks, header)
    device = [
        (r["message"], r["metric"], r["datatype"], r["value"] or r["text"], r["time"]) for r in rows if r["device"]
    ]
    assert device[:4] == [
        ("DBIRTH", "flow", "Double", "1.5", "2024-01-01T00:00:00.000Z"),
        ("DBIRTH", "running", "Boolean", "1", "2024-01-01T00:00:00.000Z"),
        ("DBIRTH", "mode", "String", "auto", "2024-01-01T00:00:00.000Z"),
        ("DBIRTH", "count", "Int64", "-3", "2024-01-01T00:00:00.000Z"),
    ]
    assert [(m, v, t) for m, name, _, v, t in device[4:] if name in ("flow", "count")] == [
        ("DDATA", "1.75", "2024-01-01T00:00:01.000Z"),
        ("DDATA", "4", "2024-01-01T00:00:01.000Z"),
        ("DDATA", "2.0", "2024-01-01T00:00:02.000Z"),
        ("DDATA", "5", "2024-01-01T00:00:02.000Z"),
    ]
    assert {r["metric"] for r in rows if not r["device"]} == {"bdSeq", "Node Control/Rebirth"}
    assert listen.description["counts"]["unresolved"] == 0  # the DDATA carried aliases only, named by the DBIRTH


def test_deliver_diagnoses(broker: MqttBroker, tmp_path: Path) -> None:
    artifact = tmp_path / "rows.csv"
    artifact.write_text("a,b\n1,2\n")
    with pytest.raises(ConnectorError) as denied:
        _connector(broker, "viewer").write({"group": "synth", "node": "n"}, "rows.csv", "csv", artifact)
    assert denied.value.diagnosis == "permission"
    with pytest.raises(ConnectorError) as no_clock:
        _connector(broker).write({"group": "synth", "node": "n", "time_column": "t"}, "rows.csv", "csv", artifact)
    assert no_clock.value.diagnosis == "invalid" and "'t'" in no_clock.value.message
    with pytest.raises(ConnectorError) as not_a_table:
        _connector(broker).write({"group": "synth", "node": "n"}, "model.bin", "", artifact)
    assert not_a_table.value.diagnosis == "invalid"
