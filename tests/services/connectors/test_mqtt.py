"""The MQTT connector against Debian's mosquitto with logins and an ACL: record topics for a
window, browse the topic tree, publish rows, and the diagnoses (wrong password, denied subscribe
and publish, nothing listening)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from appliance.services.connectors import environment
from appliance.services.connectors.base import ConnectorError
from appliance.services.connectors.mqtt import MqttConnector
from tests.connector_servers import MqttBroker, _free_port

pytestmark = pytest.mark.xdist_group("mqtt")


def _connector(broker: MqttBroker, user: str = "plant", password: str | None = None, **over: Any) -> MqttConnector:
    assert broker.users is not None
    settings = {"host": "127.0.0.1", "port": broker.port, **over}
    credentials = {"username": user, "password": broker.users[user] if password is None else password}
    return MqttConnector(settings, credentials, environment({"webhooks": {}, "connectors": {"timeout_s": 3}}))


def test_record_browse_publish(broker: MqttBroker, tmp_path: Path) -> None:
    con = _connector(broker)
    assert con.test()["connected"]
    broker.publish("plant/line1/temp", ["21.5"], retain=True)
    broker.publish("plant/line2/temp", ["19.0"], retain=True)
    assert [e.name for e in con.browse("plant", None, 10).entries] == ["line1", "line2"]
    stream = con.read({"topics": ["plant/line1/#"], "duration_s": 3, "max_messages": 4})
    feeder = threading.Thread(target=lambda: (time.sleep(0.5), broker.publish("plant/line1/flow", ["1", "2", "3"])))
    feeder.start()
    lines = [line for line in b"".join(stream.chunks).decode().splitlines() if line]
    feeder.join()
    assert lines[0] == "time,topic,payload,qos,retain"
    assert [line.split(",")[1:3] for line in lines[1:]] == [
        ["plant/line1/temp", "21.5"],
        ["plant/line1/flow", "1"],
        ["plant/line1/flow", "2"],
        ["plant/line1/flow", "3"],
    ]
    artifact = tmp_path / "rows.csv"
    artifact.write_text("t,level\n1,0.5\n2,0.7\n3,0.9\n")
    listen = con.read({"topics": ["plant/synthetic"], "duration_s": 3, "max_messages": 3})
    header = next(listen.chunks)
    assert con.write({"topic": "plant/synthetic"}, "rows.csv", "csv", artifact) == {
        "topic": "plant/synthetic",
        "messages": 3,
    }
    received = [c.decode() for c in listen.chunks if c]
    assert header.startswith(b"time,") and '"{""t"":1,""level"":0.5}"' in received[0]


def test_diagnoses(broker: MqttBroker, tmp_path: Path) -> None:
    with pytest.raises(ConnectorError) as wrong:
        _connector(broker, password="not-it").test()
    assert wrong.value.diagnosis == "auth" and "not-it" not in wrong.value.message
    with pytest.raises(ConnectorError) as refused:
        _connector(broker, port=_free_port()).test()
    assert refused.value.diagnosis == "refused"
    viewer = _connector(broker, "viewer")
    artifact = tmp_path / "rows.csv"
    artifact.write_text("a\n1\n")
    with pytest.raises(ConnectorError) as denied_pub:
        viewer.write({"topic": "plant/out"}, "rows.csv", "csv", artifact)
    assert denied_pub.value.diagnosis == "permission"
    with pytest.raises(ConnectorError) as outside:
        _connector(broker, host="8.8.8.8").test()
    assert outside.value.diagnosis == "not_allowed"
