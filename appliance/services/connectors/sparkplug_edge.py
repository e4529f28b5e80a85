"""Sparkplug B deliveries: the appliance plays an edge node and publishes an artifact's rows.

The node is born with an NBIRTH (its `bdSeq`, `Node Control/Rebirth` and, without a device, one
metric per column), its device with a DBIRTH, both carrying the first row's values and every
metric's name, alias and data type (from the column's Arrow type: Boolean, Int64, Double,
DateTime, else String). Each further row is one NDATA or DDATA with aliases only, as gateways
publish, and the delivery ends with an NDEATH, which is also the connection's will, so a delivery
cut short still tells host applications the node is gone. Metric timestamps come from the
target's `time_column` (timestamps or RFC 3339 text), else the time of publishing.

Every message goes out with QoS 1 and the delivery waits for each acknowledgement (the MQTT
connector's `publish_all`), so a refused publish is diagnosed (`permission`) and a finished
delivery was received by the broker. The Sparkplug spec asks QoS 0 for data and commands; brokers
and host applications take QoS 1 alike, and QoS 0 could not tell a delivered row from a lost one.
`bdSeq` is the current second modulo 256: no state is kept between deliveries.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance.services.connectors.base import ConnectorError
from appliance.services.connectors.mqtt import MqttConnector
from appliance.services.connectors.sparkplug import DATETIME, INT64, NAMESPACE, REBIRTH, payload_class
from appliance.services.connectors.tabular import artifact_batches


def deliver(broker: MqttConnector, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]:
    """Publish the artifact at `path` to the (checked) `target`; what was published."""
    if not fmt:
        raise ConnectorError("invalid", f"{name} is not a table; Sparkplug B deliveries publish rows as metrics")
    node_topic = f"{NAMESPACE}/{target['group']}/{{}}/{target['node']}"
    bd_seq = int(time.time()) % 256  # the spec's birth/death sequence; no state survives between deliveries
    death = _encode([{"name": "bdSeq", "datatype": INT64, "long_value": bd_seq}], _now_ms(), None)
    client = broker.connect(will=(node_topic.format("NDEATH"), death))
    label = f"{NAMESPACE}/{target['group']}/…/{target['node']}"
    try:
        sent = broker.publish_all(client, _edge_messages(target, name, fmt, path, bd_seq), label)
        sent += broker.publish_all(client, [(node_topic.format("NDEATH"), death)], label)
    finally:
        broker.close(client)
    return {"group": target["group"], "node": target["node"], "device": target.get("device"), "messages": sent}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _encode(metrics: list[dict[str, Any]], timestamp: int, seq: int | None) -> bytes:
    message = payload_class()(timestamp=timestamp)
    if seq is not None:
        message.seq = seq
    for fields in metrics:
        message.metrics.add(**fields)
    out: bytes = message.SerializeToString()
    return out


def _datatype(arrow_type: Any) -> int:
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return 11
    if pa.types.is_integer(arrow_type):
        return INT64
    if pa.types.is_floating(arrow_type):
        return 10
    if pa.types.is_timestamp(arrow_type):
        return DATETIME
    return 12  # String: text, dates and anything else as its text


def _millis(value: Any) -> int:
    """A time column's value as epoch milliseconds: a timestamp, or RFC 3339 text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise ConnectorError("invalid", f"the time column holds {value!r}; it needs timestamps or RFC 3339 text")
    return int(value.replace(tzinfo=value.tzinfo or UTC).timestamp() * 1000)


def _field(datatype: int, value: Any) -> dict[str, Any]:
    """A metric's value fields for one cell."""
    if value is None:
        return {"is_null": True}
    if datatype == 11:
        return {"boolean_value": bool(value)}
    if datatype == INT64:
        return {"long_value": int(value) & ((1 << 64) - 1)}  # two's complement, as the spec encodes Int64
    if datatype == 10:
        return {"double_value": float(value)}
    if datatype == DATETIME:
        return {"long_value": _millis(value)}
    return {"string_value": str(value)}


def _edge_messages(
    target: Mapping[str, Any], name: str, fmt: str, path: Path, bd_seq: int
) -> Iterator[tuple[str, bytes]]:
    """(topic, payload) of the births and then one DATA message per further row, batch by batch."""
    group, node, device, clock = target["group"], target["node"], target.get("device"), target.get("time_column")
    born, seq, columns = False, 0, []
    for batch in artifact_batches(path, fmt):
        if not born:
            names = batch.schema.names
            if clock is not None and clock not in names:
                raise ConnectorError("invalid", f"{name} has no column {clock!r} (the target's time_column)")
            # aliases 0 and 1 are the node's bdSeq and Node Control/Rebirth
            columns = [
                (c, _datatype(batch.schema.field(c).type), 2 + i) for i, c in enumerate(n for n in names if n != clock)
            ]
        for row in batch.to_pylist():
            at = _millis(row[clock]) if clock is not None else _now_ms()
            if not born:
                declared = [
                    {"name": c, "alias": a, "datatype": t, "timestamp": at, **_field(t, row[c])} for c, t, a in columns
                ]
                control = [
                    {"name": "bdSeq", "alias": 0, "datatype": INT64, "long_value": bd_seq},
                    {"name": REBIRTH, "alias": 1, "datatype": 11, "boolean_value": False},
                ]
                yield (
                    f"{NAMESPACE}/{group}/NBIRTH/{node}",
                    _encode(control + ([] if device else declared), at, 0),
                )
                if device:
                    seq += 1
                    yield f"{NAMESPACE}/{group}/DBIRTH/{node}/{device}", _encode(declared, at, seq)
                born = True
                continue
            seq = (seq + 1) % 256
            values = [{"alias": a, "timestamp": at, **_field(t, row[c])} for c, t, a in columns]
            if device:
                yield f"{NAMESPACE}/{group}/DDATA/{node}/{device}", _encode(values, at, seq)
            else:
                yield f"{NAMESPACE}/{group}/NDATA/{node}", _encode(values, at, seq)
