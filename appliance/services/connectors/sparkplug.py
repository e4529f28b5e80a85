"""MQTT Sparkplug B through paho-mqtt and protobuf: record edge nodes' metrics for a window.

Sparkplug B puts a protobuf `Payload` on `spBv1.0/<group>/<message type>/<node>[/<device>]`. A
node announces its metrics in a BIRTH (NBIRTH for itself, DBIRTH for each device behind it) with
their names, aliases and data types, and later DATA messages (NDATA, DDATA) may carry only the
alias. So a recording keeps, per edge node, the alias table of its last births and resolves every
DATA metric through it; a node's NBIRTH starts a new table (a new session of the node).

The payload is decoded by protobuf itself: the schema below is the Sparkplug B payload message
(Eclipse Tahu's `sparkplug_b.proto`, the spec's Appendix) declared with protobuf's descriptor API,
so no generated module and no protoc run are needed. It declares the fields a recording reads
(timestamp, seq, uuid, and per metric the name, alias, timestamp, datatype, the null and
historical flags and the scalar values); anything else (metadata, properties, DataSet and
Template values) stays in the message as unknown fields and those metrics' values are counted as
unsupported, never guessed.

The recording is tidy (long) CSV, one row per metric value, as historians export: `time` (the
metric's timestamp, else the payload's, else the receive time; RFC 3339 UTC), `group`, `node`,
`device` (empty for the node's own metrics), `message` (NBIRTH, DBIRTH, NDATA, DDATA), `metric`
(the name, resolved from the alias), `datatype` (its Sparkplug name), `value` (numbers; booleans as
1 and 0) and `text` (strings, UUIDs, DateTimes as RFC 3339, bytes as base64). Long rows keep a
metric that appears mid-window and mixed types apart; pivoting by metric is one step for the
researcher, where a wide file would need every metric known before the first row. A message that
is not a Sparkplug B payload, or a DATA metric whose alias no BIRTH in the window named, is
skipped and counted; the counts end up in the import's record (`import.json`, `source.counts`).
A delivery publishes an artifact's rows as an edge node of the appliance's own (`sparkplug_edge`).
Births are not retained, so a window that opens mid-session hears aliases it cannot name; with
`rebirth` the connector asks such a node once for its births (NCMD `Node Control/Rebirth`), as a
host application joining late does. That is a command to the plant, so it is asked for, never
sent by default.
"""

from __future__ import annotations

import base64
import functools
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import marshmallow as ma

from appliance.services.connectors import mqtt
from appliance.services.connectors.base import (
    ConnectorError,
    ConnectorType,
    Entry,
    Environment,
    Listing,
    ReadStream,
)
from appliance.services.connectors.tabular import csv_line

NAMESPACE = "spBv1.0"
RECORDED = ("NBIRTH", "DBIRTH", "NDATA", "DDATA")
BROWSE_MAX_MESSAGES = 100_000
REBIRTH = "Node Control/Rebirth"
HEADER = ["time", "group", "node", "device", "message", "metric", "datatype", "value", "text"]
DATATYPES = {
    1: "Int8",
    2: "Int16",
    3: "Int32",
    4: "Int64",
    5: "UInt8",
    6: "UInt16",
    7: "UInt32",
    8: "UInt64",
    9: "Float",
    10: "Double",
    11: "Boolean",
    12: "String",
    13: "DateTime",
    14: "Text",
    15: "UUID",
    16: "DataSet",
    17: "Bytes",
    18: "File",
    19: "Template",
}
_SIGNED32 = (1, 2, 3)  # Int8, Int16, Int32 travel in the uint32 field as two's complement
INT64, DATETIME = 4, 13


@functools.cache
def payload_class() -> Any:
    """The Sparkplug B `Payload` message class, built at first use in a private descriptor pool (so
    another copy of the schema elsewhere in the process cannot clash with it)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field = descriptor_pb2.FieldDescriptorProto
    optional, repeated = field.LABEL_OPTIONAL, field.LABEL_REPEATED
    proto = descriptor_pb2.FileDescriptorProto(name="sealforge/sparkplug_b.proto", package="sealforge.sparkplug")
    proto.syntax = "proto2"
    payload = proto.message_type.add(name="Payload")
    metric = payload.nested_type.add(name="Metric")
    metric.oneof_decl.add(name="value")
    for name, number, kind in (
        ("name", 1, field.TYPE_STRING),
        ("alias", 2, field.TYPE_UINT64),
        ("timestamp", 3, field.TYPE_UINT64),
        ("datatype", 4, field.TYPE_UINT32),
        ("is_historical", 5, field.TYPE_BOOL),
        ("is_transient", 6, field.TYPE_BOOL),
        ("is_null", 7, field.TYPE_BOOL),
    ):
        metric.field.add(name=name, number=number, type=kind, label=optional)
    for name, number, kind in (
        ("int_value", 10, field.TYPE_UINT32),
        ("long_value", 11, field.TYPE_UINT64),
        ("float_value", 12, field.TYPE_FLOAT),
        ("double_value", 13, field.TYPE_DOUBLE),
        ("boolean_value", 14, field.TYPE_BOOL),
        ("string_value", 15, field.TYPE_STRING),
        ("bytes_value", 16, field.TYPE_BYTES),
    ):
        metric.field.add(name=name, number=number, type=kind, label=optional, oneof_index=0)
    payload.field.add(name="timestamp", number=1, type=field.TYPE_UINT64, label=optional)
    payload.field.add(
        name="metrics",
        number=2,
        type=field.TYPE_MESSAGE,
        label=repeated,
        type_name=".sealforge.sparkplug.Payload.Metric",
    )
    payload.field.add(name="seq", number=3, type=field.TYPE_UINT64, label=optional)
    payload.field.add(name="uuid", number=4, type=field.TYPE_STRING, label=optional)
    payload.field.add(name="body", number=5, type=field.TYPE_BYTES, label=optional)
    payload.extension_range.add(start=6, end=536870912)  # "extensions 6 to max"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("sealforge.sparkplug.Payload"))


def _stamp(ms: int | None) -> str | None:
    if not ms:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):  # a timestamp no calendar holds: use another
        return None


def _value(metric: Any, datatype: int) -> tuple[float | int | None, str | None, bool]:
    """(value, text, supported) of one metric: numbers to `value`, the rest to `text`."""
    if metric.is_null:
        return None, None, True
    which = metric.WhichOneof("value")
    if which is None:
        return None, None, False  # a DataSet, a Template or an extension: not a scalar
    raw = getattr(metric, which)
    if which == "int_value":
        return (raw - (1 << 32) if datatype in _SIGNED32 and raw >= 1 << 31 else raw), None, True
    if which == "long_value":
        if datatype == DATETIME:
            return None, _stamp(raw), True
        return (raw - (1 << 64) if datatype == INT64 and raw >= 1 << 63 else raw), None, True
    if which == "float_value":
        import numpy as np

        return float(str(np.float32(raw))), None, True  # the float32's own shortest digits
    if which == "boolean_value":
        return int(raw), None, True
    if which == "bytes_value":
        return None, base64.b64encode(raw).decode(), True
    if which == "string_value":
        return None, raw, True
    return raw, None, True


class Settings(mqtt.Settings):
    browse_s = ma.fields.Float(
        load_default=5.0,
        validate=ma.validate.Range(0.5, 60),
        metadata={"description": "seconds browse listens; births are not retained, so long enough for a DATA round"},
    )


_LEVEL = ma.validate.Regexp(r"^(\+|[^/#+]{1,256})$", error="a name without / # +, or + for any")


class Source(ma.Schema):
    group = ma.fields.String(load_default="+", validate=_LEVEL)
    node = ma.fields.String(load_default="+", validate=_LEVEL)
    device = ma.fields.String(
        validate=_LEVEL, metadata={"description": "absent: the nodes' and their devices' metrics; + any device only"}
    )
    metrics = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=1024)), validate=ma.validate.Length(min=1, max=10_000)
    )
    duration_s = ma.fields.Float(load_default=60.0, validate=ma.validate.Range(0.5, 86_400))
    max_messages = ma.fields.Integer(validate=ma.validate.Range(1, 100_000_000))
    qos = ma.fields.Integer(load_default=0, validate=ma.validate.OneOf((0, 1)))
    rebirth = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "ask a node whose aliases no birth named for its births (NCMD Node Control/Rebirth)"},
    )


_NAME = ma.validate.Regexp(r"^[^/#+]{1,256}$", error="a name without / # +")


class Target(ma.Schema):
    group = ma.fields.String(required=True, validate=_NAME)
    node = ma.fields.String(
        required=True, validate=_NAME, metadata={"description": "the edge node the appliance plays"}
    )
    device = ma.fields.String(
        validate=_NAME, metadata={"description": "absent: the columns are the node's own metrics"}
    )
    time_column = ma.fields.String(
        validate=ma.validate.Length(min=1, max=256),
        metadata={"description": "a column of timestamps for the metrics; absent: the time of publishing"},
    )


def _filters(source: Mapping[str, Any]) -> list[str]:
    base = f"{NAMESPACE}/{source['group']}/+/{source['node']}"
    if "device" in source:
        return [f"{base}/{source['device']}"]
    return [base, f"{base}/+"]


class Decoder:
    """Sparkplug B messages to rows: the alias tables of the births seen, and what was skipped."""

    def __init__(self, wanted: list[str] | None = None) -> None:
        self.aliases: dict[tuple[str, str], dict[int, tuple[str, int]]] = {}
        self.types: dict[tuple[str, str], dict[str, int]] = {}  # a DATA metric by name may omit its type
        self.wanted = set(wanted) if wanted else None
        self.asked: set[tuple[str, str]] = set()  # nodes asked to rebirth in this window
        self.counts = {
            "messages": 0,
            "rows": 0,
            "undecodable": 0,
            "unresolved": 0,
            "unsupported": 0,
            "ignored": 0,
            "rebirths": 0,
        }

    def rows(self, topic: str, payload: bytes, received: str) -> list[list[Any]]:
        """The rows of one message; an undecodable one or one that carries no measurements
        (a death, a command, a host's STATE) gives none and is counted."""
        from google.protobuf.message import DecodeError

        self.counts["messages"] += 1
        parts = topic.split("/")
        if len(parts) not in (4, 5) or parts[0] != NAMESPACE or parts[2] not in RECORDED:
            self.counts["ignored"] += 1
            return []
        group, message, node = parts[1], parts[2], parts[3]
        device = parts[4] if len(parts) == 5 else ""
        decoded = payload_class()()
        try:
            decoded.ParseFromString(payload)
        except DecodeError:
            self.counts["undecodable"] += 1
            return []
        table = self.aliases.setdefault((group, node), {})
        types = self.types.setdefault((group, node), {})
        if message == "NBIRTH":
            table.clear()  # a new session of the node: its earlier aliases mean nothing now
            types.clear()
        when = _stamp(decoded.timestamp) if decoded.HasField("timestamp") else None
        out = []
        for metric in decoded.metrics:
            name, datatype = metric.name if metric.HasField("name") else None, metric.datatype
            birth = message.endswith("BIRTH")
            if metric.HasField("alias"):
                if birth and name is not None:
                    table[metric.alias] = (name, datatype)
                elif metric.alias in table:
                    known = table[metric.alias]
                    name, datatype = name or known[0], datatype or known[1]
            if name is None:
                self.counts["unresolved"] += 1
                continue
            if birth:
                types[name] = datatype
            datatype = datatype or types.get(name, 0)
            if self.wanted is not None and name not in self.wanted:
                continue
            value, text, supported = _value(metric, datatype)
            if not supported:
                self.counts["unsupported"] += 1
            stamp = (_stamp(metric.timestamp) if metric.HasField("timestamp") else None) or when or received
            label = DATATYPES.get(datatype, str(datatype) if datatype else "")
            out.append([stamp, group, node, device, message, name, label, value, text])
        self.counts["rows"] += len(out)
        return out


def _received() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SparkplugConnector:
    def __init__(self, settings: Mapping[str, Any], credentials: Mapping[str, Any], env: Environment) -> None:
        self.settings, self.env = settings, env
        self.broker = mqtt.MqttConnector(settings, credentials, env)

    def test(self) -> dict[str, Any]:
        client = self.broker.connect()
        try:  # a broker that refuses the namespace says so here (MQTT 5 SUBACK reason codes)
            self.broker.subscribe(client, [f"{NAMESPACE}/#"], 0)
        finally:
            self.broker.close(client)
        return {"connected": True, "protocol": "MQTT 5", "namespace": NAMESPACE}

    def browse(self, path: str, cursor: str | None, limit: int) -> Listing:
        """Listen `browse_s` on the namespace, then show one level of group / node / device /
        metric under `path` (`group`, `group/node` or `group/node/device`)."""
        levels = [p for p in path.strip("/").split("/") if p] if path.strip("/") else []
        if len(levels) > 3:
            raise ConnectorError("not_found", f"{path!r}: Sparkplug has group/node/device, then metrics")
        if any("+" in level or "#" in level for level in levels):
            raise ConnectorError("invalid", f"{path!r}: browse a group, node or device by its name, not a wildcard")
        decoder, heard = Decoder(), list[tuple[str, bytes]]()

        def on_message(_c: Any, _u: Any, message: Any) -> None:
            if len(heard) < BROWSE_MAX_MESSAGES:  # a busy namespace: the tree is whole long before this
                heard.append((message.topic, bytes(message.payload)))

        client = self.broker.connect(on_message)
        try:
            self.broker.subscribe(client, [f"{NAMESPACE}/{'/'.join(levels[:1]) or '+'}/#"], 0)
            time.sleep(min(self.settings.get("browse_s", 5.0), 60.0))
        finally:
            self.broker.close(client)
        tree: dict[str, dict[str, dict[str, dict[str, str | None]]]] = {}
        for topic, payload in list(heard):
            parts = topic.split("/")
            if len(parts) in (4, 5) and parts[0] == NAMESPACE and parts[2] in RECORDED:
                devices = tree.setdefault(parts[1], {}).setdefault(parts[3], {})
                metrics = devices.setdefault(parts[4] if len(parts) == 5 else "", {})
                for row in decoder.rows(topic, payload, ""):
                    metrics[row[5]] = row[6]
                table = decoder.aliases.get((parts[1], parts[3]), {})
                for alias in _unresolved(payload, table):
                    metrics.setdefault(f"alias {alias}", None)
        entries = sorted(self._level(tree, levels), key=lambda e: e.name)  # the cursor is a name
        if levels and not entries and not _exists(tree, levels):
            raise ConnectorError(
                "not_found", f"nothing was heard from {path!r} in {self.settings.get('browse_s', 5.0)} s"
            )
        names = [e for e in entries if not cursor or e.name > cursor]
        page = names[:limit]
        return Listing(page, page[-1].name if len(names) > limit and page else None)

    @staticmethod
    def _level(tree: dict[str, Any], levels: list[str]) -> list[Entry]:
        if not levels:
            return [
                Entry(g, g, "group", children=True, detail={"nodes": len(nodes)}) for g, nodes in sorted(tree.items())
            ]
        group = tree.get(levels[0], {})
        if len(levels) == 1:
            return [
                Entry(n, f"{levels[0]}/{n}", "node", children=True, detail={"devices": len([d for d in devs if d])})
                for n, devs in sorted(group.items())
            ]
        devices = group.get(levels[1], {})
        metrics = devices.get(levels[2] if len(levels) == 3 else "", {})
        entries = [
            Entry(m, m, "metric", detail={"datatype": t} if t is not None else {"resolved": False})
            for m, t in sorted(metrics.items())
        ]
        if len(levels) == 2:
            prefix = f"{levels[0]}/{levels[1]}"
            entries += [
                Entry(d, f"{prefix}/{d}", "device", children=True, detail={"metrics": len(devices[d])})
                for d in sorted(devices)
                if d
            ]
        return entries

    def read(self, source: Mapping[str, Any]) -> ReadStream:
        source = Source().load(dict(source))
        messages: queue.Queue[tuple[str, bytes, str]] = queue.Queue(maxsize=10_000)

        def on_message(_c: Any, _u: Any, message: Any) -> None:
            messages.put((message.topic, bytes(message.payload), _received()))

        client = self.broker.connect(on_message)
        try:
            self.broker.subscribe(client, _filters(source), source["qos"])
        except ConnectorError:
            self.broker.close(client)
            raise
        closed = threading.Event()
        decoder = Decoder(source.get("metrics"))
        description = {**source, "host": self.settings["host"], "port": self.settings["port"], "counts": decoder.counts}

        def close() -> None:
            if not closed.is_set():
                closed.set()
                self.broker.close(client)

        def chunks() -> Iterator[bytes]:
            end, limit = time.monotonic() + source["duration_s"], source.get("max_messages")
            try:
                yield csv_line(HEADER)
                while time.monotonic() < end and not closed.is_set():
                    if limit is not None and decoder.counts["messages"] - decoder.counts["ignored"] >= limit:
                        break
                    try:
                        topic, payload, received = messages.get(timeout=min(0.5, max(0.01, end - time.monotonic())))
                    except queue.Empty:
                        yield b""  # a pause the reader sees: the import checks its cancel flag here
                        continue
                    unresolved = decoder.counts["unresolved"]
                    rows = decoder.rows(topic, payload, received)
                    if source["rebirth"] and decoder.counts["unresolved"] > unresolved:
                        self._ask_rebirth(client, topic, decoder)
                    yield b"".join(csv_line(row) for row in rows)
            finally:
                close()
            counts = decoder.counts
            if counts["undecodable"] and not counts["rows"]:
                raise ConnectorError(
                    "invalid",
                    f"{counts['undecodable']} message(s) on {NAMESPACE} topics were not Sparkplug B payloads "
                    "and none was; is this broker's namespace Sparkplug B?",
                )

        return ReadStream("csv", chunks(), None, description, close)

    @staticmethod
    def _ask_rebirth(client: Any, topic: str, decoder: Decoder) -> None:
        """Once per node and window: NCMD `Node Control/Rebirth` = true, as a host application
        that joined mid-session asks (QoS 0, not retained, as the spec has commands)."""
        parts = topic.split("/")
        node = (parts[1], parts[3])
        if node in decoder.asked:
            return
        decoder.asked.add(node)
        command = payload_class()(timestamp=int(time.time() * 1000))
        command.metrics.add(name=REBIRTH, datatype=11, boolean_value=True)
        client.publish(f"{NAMESPACE}/{node[0]}/NCMD/{node[1]}", command.SerializeToString(), qos=0, retain=False)
        decoder.counts["rebirths"] += 1

    def write(self, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]:
        """Publish an artifact's rows as a Sparkplug B edge node (`sparkplug_edge`)."""
        from appliance.services.connectors import sparkplug_edge

        return sparkplug_edge.deliver(self.broker, Target().load(dict(target)), name, fmt, path)


def _unresolved(payload: bytes, table: Mapping[int, Any]) -> list[int]:
    """Aliases in a DATA payload that no birth heard so far named (browse shows them as such)."""
    from google.protobuf.message import DecodeError

    decoded = payload_class()()
    try:
        decoded.ParseFromString(payload)
    except DecodeError:
        return []
    return [m.alias for m in decoded.metrics if not m.HasField("name") and m.HasField("alias") and m.alias not in table]


def _exists(tree: Mapping[str, Any], levels: list[str]) -> bool:
    node: Any = tree
    for level in levels:
        if not isinstance(node, Mapping) or level not in node:
            return False
        node = node[level]
    return True


TYPE = ConnectorType(
    name="sparkplug_b",
    summary="MQTT Sparkplug B: record edge nodes' metrics for a window, publish artifacts as an edge node",
    settings=Settings,
    credentials=mqtt.Credentials,
    source=Source,
    target=Target,
    open=lambda settings, credentials, env: SparkplugConnector(settings, credentials, env),
    hosts=lambda settings: [(settings["host"], settings["port"])],
)
