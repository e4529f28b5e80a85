"""MQTT through paho-mqtt (MQTT 5): record topics for a window, publish artifacts as messages.

MQTT 5 is used because its acknowledgements carry reason codes: a broker that refuses a login,
a subscription or a publish says so (`auth`, `permission`), where MQTT 3.1.1 drops a denied
publish in silence. A recording subscribes to the topic filters and writes one CSV row per
message (receive time, topic, payload as text, QoS, retain); a delivery publishes an artifact's
rows, one JSON object per message, QoS 1, and waits for every acknowledgement. MQTT lists no
topics, so browse listens for a moment (retained messages arrive at once) and shows the next
level of the topic tree under `path`. The `sparkplug_b` type reads through this connector's
`connect`, `subscribe` and `close`, so both types log in and diagnose alike.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import marshmallow as ma

from appliance.services.connectors.base import (
    ConnectorError,
    ConnectorType,
    Entry,
    Environment,
    Listing,
    ReadStream,
    classify,
)
from appliance.services.connectors.tabular import artifact_batches, csv_line

BROWSE_LISTEN_S = 1.5
MAX_IN_FLIGHT = 200
_DONE = object()


class Settings(ma.Schema):
    host = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=253))
    port = ma.fields.Integer(load_default=1883, validate=ma.validate.Range(1, 65535))
    tls = ma.fields.Boolean(load_default=False, metadata={"description": "TLS, the broker's name verified"})


class Credentials(ma.Schema):
    username = ma.fields.String(validate=ma.validate.Length(min=1, max=256))
    password = ma.fields.String(validate=ma.validate.Length(max=1000))


_FILTER = ma.validate.Length(min=1, max=1024)


class Source(ma.Schema):
    topics = ma.fields.List(
        ma.fields.String(validate=_FILTER), required=True, validate=ma.validate.Length(min=1, max=100)
    )
    duration_s = ma.fields.Float(load_default=60.0, validate=ma.validate.Range(0.5, 86_400))
    max_messages = ma.fields.Integer(validate=ma.validate.Range(1, 100_000_000))
    qos = ma.fields.Integer(load_default=1, validate=ma.validate.OneOf((0, 1, 2)))


class Target(ma.Schema):
    topic = ma.fields.String(required=True, validate=_FILTER)
    retain = ma.fields.Boolean(load_default=False)

    @ma.validates("topic")
    def no_wildcards(self, value: str, **_kwargs: Any) -> None:
        if "+" in value or "#" in value:
            raise ma.ValidationError("a topic to publish to has no wildcards")


def _reason(code: Any) -> ConnectorError | None:
    """The diagnosis of an MQTT 5 reason code, or None when it is a success."""
    value = getattr(code, "value", code)
    if value is None or int(value) < 0x80:
        return None
    name = str(getattr(code, "getName", lambda: code)())
    if int(value) in (0x86, 0x8C):
        return ConnectorError("auth", name)
    if int(value) == 0x87:
        return ConnectorError("permission", name)
    if int(value) in (0x8F, 0x90, 0x99):
        return ConnectorError("invalid", name)
    return ConnectorError("protocol", name)


class MqttConnector:
    def __init__(self, settings: Mapping[str, Any], credentials: Mapping[str, Any], env: Environment) -> None:
        self.settings, self.credentials, self.env = settings, credentials, env

    def connect(self, on_message: Any = None, will: tuple[str, bytes] | None = None) -> Any:
        """A logged-in client with its network loop running; `will` is the (topic, payload) the
        broker publishes if the connection drops (a Sparkplug B node's death certificate)."""
        import paho.mqtt.client as mqtt

        host, port = self.settings["host"], self.settings["port"]
        address = self.env.address(host, port)
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"sealforge-{uuid.uuid4().hex[:12]}", protocol=mqtt.MQTTv5
        )
        if self.credentials.get("username"):
            client.username_pw_set(self.credentials["username"], self.credentials.get("password"))
        if self.settings.get("tls"):
            client.tls_set()
        if will is not None:
            client.will_set(will[0], will[1], qos=1, retain=False)
        connected, outcome = threading.Event(), {}

        def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            outcome["reason"] = reason
            connected.set()

        client.on_connect = on_connect
        if on_message is not None:
            client.on_message = on_message
        try:  # with TLS the name is what the certificate is checked against
            client.connect(host if self.settings.get("tls") else address, port, keepalive=30)
        except Exception as exc:
            raise ConnectorError(classify(exc) or "protocol", f"{host}:{port}: {exc}") from exc
        client.loop_start()
        if not connected.wait(self.env.timeout_s):
            self.close(client)
            raise ConnectorError("timeout", f"{host}:{port} did not answer the MQTT CONNECT")
        failure = _reason(outcome["reason"])
        if failure is not None:
            self.close(client)
            # a CONNACK's "not authorized" (mosquitto's answer to a wrong password) is a refused login
            raise ConnectorError("auth" if failure.diagnosis == "permission" else failure.diagnosis, failure.message)
        return client

    @staticmethod
    def close(client: Any) -> None:
        client.disconnect()
        client.loop_stop()

    def subscribe(self, client: Any, topics: list[str], qos: int) -> None:
        done, outcome = threading.Event(), {}

        def on_subscribe(_c: Any, _u: Any, _mid: Any, reasons: Any, _p: Any) -> None:
            outcome["reasons"] = reasons
            done.set()

        client.on_subscribe = on_subscribe
        client.subscribe([(topic, qos) for topic in topics])
        if not done.wait(self.env.timeout_s):
            raise ConnectorError("timeout", "the broker did not answer the SUBSCRIBE")
        for topic, reason in zip(topics, outcome["reasons"], strict=False):
            failure = _reason(reason)
            if failure is not None:
                raise ConnectorError(failure.diagnosis, f"{topic}: {failure.message}")

    def test(self) -> dict[str, Any]:
        client = self.connect()
        self.close(client)
        return {"connected": True, "protocol": "MQTT 5"}

    def browse(self, path: str, cursor: str | None, limit: int) -> Listing:
        prefix = path.strip("/")
        seen: dict[str, int] = {}

        def on_message(_c: Any, _u: Any, message: Any) -> None:
            rest = message.topic[len(prefix) + 1 :] if prefix else message.topic
            if rest and not message.topic.startswith("$"):
                level = rest.split("/")[0]
                seen[level] = seen.get(level, 0) + 1

        client = self.connect(on_message)
        try:
            self.subscribe(client, [f"{prefix}/#" if prefix else "#"], 0)
            time.sleep(min(BROWSE_LISTEN_S, self.env.timeout_s))
        finally:
            self.close(client)
        names = sorted(n for n in seen if not cursor or n > cursor)
        entries = [
            Entry(n, f"{prefix}/{n}" if prefix else n, "topic", children=True, detail={"messages": seen[n]})
            for n in names[:limit]
        ]
        return Listing(entries, entries[-1].name if len(names) > limit and entries else None)

    def read(self, source: Mapping[str, Any]) -> ReadStream:
        source = Source().load(dict(source))
        messages: queue.Queue[Any] = queue.Queue(maxsize=10_000)

        def on_message(_c: Any, _u: Any, message: Any) -> None:
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            payload = message.payload.decode("utf-8", errors="replace")
            messages.put([stamp, message.topic, payload, message.qos, int(message.retain)])

        client = self.connect(on_message)
        try:
            self.subscribe(client, list(source["topics"]), source["qos"])
        except ConnectorError:
            self.close(client)
            raise
        closed = threading.Event()

        def close() -> None:
            if not closed.is_set():
                closed.set()
                self.close(client)

        def chunks() -> Iterator[bytes]:
            end, count, limit = time.monotonic() + source["duration_s"], 0, source.get("max_messages")
            try:
                yield csv_line(["time", "topic", "payload", "qos", "retain"])
                while time.monotonic() < end and not closed.is_set() and (limit is None or count < limit):
                    try:
                        row = messages.get(timeout=min(0.5, max(0.01, end - time.monotonic())))
                    except queue.Empty:
                        yield b""  # a pause the reader sees: the import checks its cancel flag here
                        continue
                    count += 1
                    yield csv_line(row)
            finally:
                close()

        description = {**source, "host": self.settings["host"], "port": self.settings["port"]}
        return ReadStream("csv", chunks(), None, description, close)

    def write(self, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]:
        if not fmt:
            raise ConnectorError("invalid", f"{name} is not a table; MQTT deliveries publish rows")
        topic = target["topic"]
        messages = (
            (topic, json.dumps(row, default=str, separators=(",", ":")))
            for batch in artifact_batches(path, fmt)
            for row in batch.to_pylist()
        )
        client = self.connect()
        try:
            sent = self.publish_all(client, messages, topic, retain=bool(target.get("retain")))
        finally:
            self.close(client)
        return {"topic": topic, "messages": sent}

    def publish_all(
        self, client: Any, messages: Iterable[tuple[str, str | bytes]], label: str, retain: bool = False
    ) -> int:
        """Publish each (topic, payload) with QoS 1, at most MAX_IN_FLIGHT unacknowledged at once
        (bounded memory), and wait for every acknowledgement; the number published. A publish the
        broker refused (its PUBACK reason code) raises that diagnosis, named by `label`."""
        failures: list[ConnectorError] = []
        acked = threading.Semaphore(0)

        def on_publish(_c: Any, _u: Any, _mid: Any, reason: Any, _p: Any) -> None:
            failure = _reason(reason)
            if failure is not None:
                failures.append(failure)
            acked.release()

        client.on_publish = on_publish
        sent = outstanding = 0

        def wait_one() -> None:
            if not acked.acquire(timeout=self.env.timeout_s):
                raise ConnectorError("timeout", f"the broker stopped acknowledging after {sent - outstanding} messages")

        for topic, body in messages:
            client.publish(topic, body, qos=1, retain=retain)
            sent, outstanding = sent + 1, outstanding + 1
            if outstanding >= MAX_IN_FLIGHT:  # bounded memory: wait for the broker to keep up
                wait_one()
                outstanding -= 1
        while outstanding:
            wait_one()
            outstanding -= 1
        if failures:
            raise ConnectorError(failures[0].diagnosis, f"{label}: {failures[0].message}")
        return sent


TYPE = ConnectorType(
    name="mqtt",
    summary="MQTT: record topics for a window, publish artifacts' rows as messages",
    settings=Settings,
    credentials=Credentials,
    source=Source,
    target=Target,
    open=lambda settings, credentials, env: MqttConnector(settings, credentials, env),
    hosts=lambda settings: [(settings["host"], settings["port"])],
)
