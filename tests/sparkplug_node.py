"""A Sparkplug B edge node for the connector tests: what a plant's gateway publishes to the broker.

It logs in to the test broker as `plant` and publishes real Sparkplug B payloads (protobuf, with
the connector's own `Payload` message class): an NBIRTH with the node's metrics and aliases, a
DBIRTH for its device `pump1`, then DDATA carrying aliases only, as gateways that save bandwidth
do. `wire_nbirth` writes one payload byte by byte from the spec's field numbers instead.
"""

from __future__ import annotations

import struct
import threading
from typing import Any

from appliance.services.connectors.sparkplug import payload_class
from tests.connector_servers import MqttBroker

BIRTH_MS = 1_764_547_200_000  # 2025-12-01T00:00:00Z
# device metrics: name, alias, datatype, value field, birth value
DEVICE = [
    ("Flow", 10, 10, "double_value", 1.5),
    ("Running", 11, 11, "boolean_value", True),
    ("Mode", 12, 12, "string_value", "auto"),
    ("Temp", 13, 9, "float_value", 21.5),
    ("Offset", 14, 2, "int_value", (1 << 32) - 5),  # Int16 -5, two's complement in the uint32 field
]
NODE = [
    ("bdSeq", 0, 4, "long_value", 0),
    ("Node Control/Rebirth", 1, 11, "boolean_value", False),
    ("Uptime", 2, 8, "long_value", 7),
]


def payload(metrics: list[dict[str, Any]], timestamp: int, seq: int) -> bytes:
    message = payload_class()(timestamp=timestamp, seq=seq)
    for fields in metrics:
        message.metrics.add(**fields)
    out: bytes = message.SerializeToString()
    return out


def birth(spec: list[tuple[str, int, int, str, Any]]) -> list[dict[str, Any]]:
    return [{"name": n, "alias": a, "datatype": t, field: v} for n, a, t, field, v in spec]


def varint(value: int) -> bytes:
    """Protobuf's base-128 varint, written out here so the wire test does not trust the schema."""
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def wire_nbirth() -> bytes:
    """An NBIRTH encoded by hand from the Sparkplug B field numbers: timestamp (1), one metric (2)
    with name (1), alias (2), datatype (4) and double_value (13), a second with datatype Int32 (3)
    and int_value (10) of -7, then seq (3)."""
    first = b"\x0a\x0bTemperature" + b"\x10\x01" + b"\x20\x0a" + b"\x69" + struct.pack("<d", 21.5)
    second = b"\x0a\x06Offset" + b"\x10\x02" + b"\x20\x03" + b"\x50" + varint((1 << 32) - 7)
    return (
        b"\x08"
        + varint(BIRTH_MS)
        + b"\x12"
        + bytes([len(first)])
        + first
        + b"\x12"
        + bytes([len(second)])
        + second
        + b"\x18\x00"
    )


class EdgeNode:
    """Node `gw1` of group `plant1` with device `pump1`, publishing as the broker's `plant` user."""

    def __init__(self, broker: MqttBroker, group: str = "plant1", node: str = "gw1") -> None:
        import paho.mqtt.client as mqtt

        assert broker.users is not None
        self.group, self.node, self.seq = group, node, 0
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.username_pw_set("plant", broker.users["plant"])
        self.rebirth_asked = threading.Event()
        self.client.on_message = self._command
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_args: subscribed.set()
        self.client.subscribe(self.topic("NCMD"), qos=0)
        assert subscribed.wait(5), "the broker did not acknowledge the NCMD subscription"

    def _command(self, _client: Any, _userdata: Any, message: Any) -> None:
        """An NCMD to this node: note a Rebirth request (the test publishes the births, not paho's thread)."""
        command = payload_class()()
        command.ParseFromString(message.payload)
        if any(m.name == "Node Control/Rebirth" and m.boolean_value for m in command.metrics):
            self.rebirth_asked.set()

    def topic(self, message: str, device: str | None = None) -> str:
        return f"spBv1.0/{self.group}/{message}/{self.node}" + (f"/{device}" if device else "")

    def send(self, topic: str, body: bytes) -> None:
        self.client.publish(topic, body, qos=1).wait_for_publish(5)

    def _next(self) -> int:
        self.seq = (self.seq + 1) % 256
        return self.seq

    def births(self) -> None:
        self.seq = 0
        self.send(self.topic("NBIRTH"), payload(birth(NODE), BIRTH_MS, 0))
        self.send(self.topic("DBIRTH", "pump1"), payload(birth(DEVICE), BIRTH_MS, self._next()))

    def device_data(self, flow: float, at_ms: int) -> None:
        """A DDATA by alias only (no name, no datatype), as after a birth."""
        metrics: list[dict[str, Any]] = [
            {"alias": 10, "double_value": flow, "timestamp": at_ms},
            {"alias": 14, "int_value": (1 << 32) - 9},
        ]
        self.send(self.topic("DDATA", "pump1"), payload(metrics, at_ms, self._next()))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
