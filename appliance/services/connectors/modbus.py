"""Modbus TCP polling through pymodbus: a register map read at a rate, recorded as CSV rows.

Modbus has no discovery, so a source names what to read: each point's table, address, encoding
(uint16, int16, float32 as two big-endian words, bool) and scale (value = raw / scale + offset,
the convention of the appliance's own Modbus simulator), with `interval_s` and `samples`. Each
row is `time` (RFC 3339, UTC) and one column per point. The poll yields between waits, so an
import's cancel lands within half a second whatever the interval. Browse reads a table's
addresses upward from `after` until the device answers "illegal address", to find what a device
serves. Source only: a delivery to a PLC is a write to a live process, not a file copy.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator, Mapping
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
    NoCredentials,
    ReadStream,
    classify,
)
from appliance.services.connectors.tabular import csv_line

TABLES = ("holding", "input", "coil", "discrete")
_BITS = ("coil", "discrete")
_SPAN = {"holding": 125, "input": 125, "coil": 2000, "discrete": 2000}
_EXCEPTIONS = {
    1: "invalid",
    2: "not_found",
    3: "invalid",
    4: "protocol",
    6: "protocol",
    10: "unreachable",
    11: "timeout",
}


class Settings(ma.Schema):
    host = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=253))
    port = ma.fields.Integer(load_default=502, validate=ma.validate.Range(1, 65535))
    unit_id = ma.fields.Integer(load_default=1, validate=ma.validate.Range(0, 255))


class Point(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    table = ma.fields.String(load_default="holding", validate=ma.validate.OneOf(TABLES))
    address = ma.fields.Integer(required=True, validate=ma.validate.Range(0, 65535))
    encoding = ma.fields.String(
        load_default="uint16", validate=ma.validate.OneOf(("uint16", "int16", "float32", "bool"))
    )
    scale = ma.fields.Float(load_default=1.0)
    offset = ma.fields.Float(load_default=0.0)

    @ma.validates_schema
    def fits(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if (data.get("table") in _BITS) != (data.get("encoding") == "bool"):
            raise ma.ValidationError("coil and discrete points are bool; register points are not", "encoding")
        if data.get("scale") == 0:
            raise ma.ValidationError("must not be 0", "scale")


class Source(ma.Schema):
    points = ma.fields.List(ma.fields.Nested(Point), required=True, validate=ma.validate.Length(min=1, max=500))
    interval_s = ma.fields.Float(load_default=1.0, validate=ma.validate.Range(0.02, 3600))
    samples = ma.fields.Integer(load_default=60, validate=ma.validate.Range(1, 1_000_000))

    @ma.validates_schema
    def unique(self, data: dict[str, Any], **_kwargs: Any) -> None:
        names = [p["name"] for p in data.get("points", [])]
        if len(set(names)) != len(names) or "time" in names:
            raise ma.ValidationError("point names must be unique and not `time`", "points")


class ModbusConnector:
    def __init__(self, settings: Mapping[str, Any], env: Environment) -> None:
        self.settings, self.env = settings, env

    def _client(self) -> Any:
        from pymodbus.client import ModbusTcpClient

        address = self.env.address(self.settings["host"], self.settings["port"])
        try:  # the socket's own error says refused, timeout or unreachable; pymodbus only says False
            socket.create_connection((address, self.settings["port"]), self.env.timeout_s).close()
        except OSError as exc:
            raise ConnectorError(
                classify(exc) or "refused", f"{self.settings['host']}:{self.settings['port']}: {exc}"
            ) from exc
        client = ModbusTcpClient(address, port=self.settings["port"], timeout=min(self.env.timeout_s, 5.0), retries=0)
        if not client.connect():
            raise ConnectorError("refused", f"cannot connect to {self.settings['host']}:{self.settings['port']}")
        return client

    def _read(self, client: Any, table: str, address: int, count: int) -> list[int] | list[bool]:
        from pymodbus.exceptions import ModbusException

        unit = self.settings.get("unit_id", 1)
        call = {
            "holding": client.read_holding_registers,
            "input": client.read_input_registers,
            "coil": client.read_coils,
            "discrete": client.read_discrete_inputs,
        }[table]
        try:
            answer = call(address, count=count, device_id=unit)
        except ModbusException as exc:
            raise ConnectorError("timeout", f"unit {unit} did not answer: {exc}") from exc
        except OSError as exc:
            raise ConnectorError(classify(exc) or "protocol", str(exc)) from exc
        if answer.isError():
            code = int(getattr(answer, "exception_code", 0))
            raise ConnectorError(
                _EXCEPTIONS.get(code, "protocol"), f"{table} {address}..{address + count - 1}: Modbus exception {code}"
            )
        return list(answer.bits[:count]) if table in _BITS else list(answer.registers[:count])

    def test(self) -> dict[str, Any]:
        client = self._client()
        try:
            try:
                self._read(client, "holding", 0, 1)
                first = True
            except ConnectorError as exc:
                if exc.diagnosis not in ("not_found", "invalid"):
                    raise
                first = False  # the device answered; it has no holding register 0
            return {"unit_id": self.settings.get("unit_id", 1), "holding_0_readable": first}
        finally:
            client.close()

    def browse(self, path: str, cursor: str | None, limit: int) -> Listing:
        if not path:
            return Listing([Entry(t, t, "table", children=True) for t in TABLES], None)
        if path not in TABLES:
            raise ConnectorError("not_found", f"no table {path!r}; the tables are {', '.join(TABLES)}")
        start = int(cursor) + 1 if cursor and cursor.isdigit() else 0
        client, done = self._client(), False
        entries: list[Entry] = []
        try:
            address, span = start, _SPAN[path]
            while len(entries) < limit and address <= 65535:
                count = min(span, limit - len(entries), 65536 - address)
                try:
                    values = self._read(client, path, address, count)
                except ConnectorError as exc:
                    if exc.diagnosis != "not_found":
                        raise
                    if count == 1:
                        done = True  # the run of served addresses ends here
                        break
                    span = count // 2  # part of the block is served: narrow down to where it ends
                    continue
                kind = "coil" if path in _BITS else "register"
                entries += [
                    Entry(str(address + i), f"{path}/{address + i}", kind, detail={"raw": v})
                    for i, v in enumerate(values)
                ]
                address += count
        finally:
            client.close()
        more = not done and entries and int(entries[-1].name) < 65535
        return Listing(entries, entries[-1].name if more else None)

    def read(self, source: Mapping[str, Any]) -> ReadStream:
        source = Source().load(dict(source))  # the defaults of each point (table, encoding, scale)
        points, interval, samples = source["points"], float(source["interval_s"]), int(source["samples"])
        client = self._client()
        closed = False

        def close() -> None:
            nonlocal closed
            closed = True
            client.close()

        def sample() -> list[Any]:
            row: list[Any] = [datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")]
            for p in points:
                words = self._read(client, p["table"], p["address"], 2 if p["encoding"] == "float32" else 1)
                row.append(_value(p, words))
            return row

        def rows() -> Iterator[list[Any] | None]:
            due = time.monotonic()
            for _ in range(samples):
                while (wait := due - time.monotonic()) > 0 and not closed:
                    yield None  # a pause the reader sees: the import checks its cancel flag here
                    time.sleep(min(wait, 0.5))
                if closed:
                    return
                yield sample()
                due += interval

        def chunks() -> Iterator[bytes]:
            try:
                yield csv_line(["time", *(p["name"] for p in points)])
                for row in rows():
                    yield b"" if row is None else csv_line(row)
            finally:
                close()

        per_row = 24 + 12 * len(points)
        description = {**source, "host": self.settings["host"], "unit_id": self.settings.get("unit_id", 1)}
        return ReadStream("csv", chunks(), per_row * samples, description, close)

    def write(self, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]:
        raise ConnectorError("invalid", "a Modbus connector is a source only")


def _value(point: Mapping[str, Any], words: list[Any]) -> float | int | bool:
    if point["encoding"] == "bool":
        return bool(words[0])
    if point["encoding"] == "float32":
        raw: float = struct.unpack(">f", struct.pack(">HH", words[0], words[1]))[0]
        raw = float(f"{raw:.7g}")
    else:
        raw = words[0] - 0x10000 if point["encoding"] == "int16" and words[0] >= 0x8000 else words[0]
    scale, offset = point.get("scale", 1.0), point.get("offset", 0.0)
    return raw if scale == 1.0 and offset == 0.0 else raw / scale + offset


TYPE = ConnectorType(
    name="modbus",
    summary="Modbus TCP: poll a register map at a rate, recorded into a dataset",
    settings=Settings,
    credentials=NoCredentials,
    source=Source,
    target=None,
    open=lambda settings, _credentials, env: ModbusConnector(settings, env),
    hosts=lambda settings: [(settings["host"], settings["port"])],
)
