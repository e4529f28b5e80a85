"""Modbus TCP server whose registers are a live plant: the only module that imports pymodbus.

The datastore reads the plant on every request rather than copying values into pymodbus blocks
each scan: one `LivePlant.read()` (a dict copy under the plant's lock) and then only the registers
asked for are encoded, about 3 us per request in all, slightly less than pymodbus spends in its own
static-block datastore (about 4 us) and small against the ~60 us of framing and transport per
request. In exchange it is always exact: a value written over OPC UA or the API reads back at
once, no client can see a half-refreshed block, and an idle server costs nothing per scan.

pymodbus 3.16 turns a `ModbusServerContext` that is not built from `SimDevice`s into a direct
datastore: the request handler calls its `async_getValues` / `async_setValues` with the exact
function code, address and count. `PlantDatastore` is such a context. (A `SimDevice` with an
`action` hook cannot tell a coil read of 2 bits from one of 16, so it could not answer exception 2
exactly.)

Exception codes: an unmapped address, a read or write across a gap, a write that splits a float32
pair -> 2 (ILLEGAL DATA ADDRESS); a value outside the tag's range, not finite, or written twice in
one request -> 3 (ILLEGAL DATA VALUE); a function code the map does not serve -> 1; a request
for another unit id -> 0x0B (gateway target failed to respond); any write to a read-only server
-> 1 (ILLEGAL FUNCTION: "not an allowable action for this server"); any write while the plant is
paused -> 6 (SERVER DEVICE BUSY: "retry later"), reads answer the frozen values.

`clients` counts the TCP connections open now (for the appliance's overview).

Modbus has no authentication: whoever reaches the port may use every function the server serves.
`read_only` is therefore the only way to keep writes away from a network the operator does not
fully trust, short of not binding to it.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.framer import FramerSocket
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.bit_message import ReadCoilsRequest, ReadDiscreteInputsRequest, WriteSingleCoilRequest
from pymodbus.pdu.device import ModbusDeviceIdentification
from pymodbus.pdu.register_message import ReadHoldingRegistersRequest, ReadInputRegistersRequest
from pymodbus.server import ModbusTcpServer

from simulators.errors import PlantPausedError, SimulationParamError, UnknownTagError
from simulators.live import LivePlant
from simulators.protocols.register_map import (
    COIL,
    DISCRETE_INPUT,
    HOLDING,
    INPUT,
    QUALITY_BASE,
    QUALITY_PREFIX,
    MapAddressError,
    MapValueError,
    RegisterMap,
)

log = logging.getLogger(__name__)

WriteHook = Callable[[Mapping[str, Any], str], None]

READ_TABLES = {1: COIL, 5: COIL, 15: COIL, 2: DISCRETE_INPUT, 3: HOLDING, 6: HOLDING, 16: HOLDING, 22: HOLDING,
               23: HOLDING, 4: INPUT}
WRITE_TABLES = {5: COIL, 15: COIL, 6: HOLDING, 16: HOLDING, 22: HOLDING, 23: HOLDING}
BIT_TABLES = frozenset({COIL, DISCRETE_INPUT})
# data functions above, plus diagnostics/identification that pymodbus answers itself
SERVED_FUNCTIONS = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 22, 23, 43})


class IllegalFunction(ModbusPDU):
    """A function code this server does not serve. pymodbus alone would answer an unknown code with
    function byte 0x80 and would answer file-record and FIFO requests with dummy data; a device must
    echo the request's code with the exception bit set (e.g. 0xC1) and exception 1."""

    def decode(self, data: bytes) -> None:
        return None

    async def datastore_update(self, context: ModbusServerContext, device_id: int) -> ModbusPDU:
        return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_FUNCTION)


class _QuantityChecked(ModbusPDU):
    """A read whose quantity is outside 1..MAX_COUNT gets exception 3, as the Modbus spec says;
    pymodbus alone fails to decode it and answers exception 1 with function byte 0x80."""

    MAX_COUNT: int  # from the pymodbus request class it is mixed into

    def decode(self, data: bytes) -> None:
        self.address, self.count = struct.unpack(">HH", data[:4])

    async def datastore_update(self, context: ModbusServerContext, device_id: int) -> ModbusPDU:
        if not 1 <= self.count <= self.MAX_COUNT:
            return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_VALUE)
        return await super().datastore_update(context, device_id)


class ReadCoils(_QuantityChecked, ReadCoilsRequest):
    pass


class ReadDiscreteInputs(_QuantityChecked, ReadDiscreteInputsRequest):
    pass


class ReadHoldingRegisters(_QuantityChecked, ReadHoldingRegistersRequest):
    pass


class ReadInputRegisters(_QuantityChecked, ReadInputRegistersRequest):
    pass


class WriteSingleCoil(WriteSingleCoilRequest):
    """FC 5 accepts only 0xFF00 (on) and 0x0000 (off); pymodbus alone takes any non-zero value as on."""

    raw = 0

    def decode(self, data: bytes) -> None:
        self.address, self.raw = struct.unpack(">HH", data[:4])
        self.bits = [self.raw == 0xFF00]

    async def datastore_update(self, context: ModbusServerContext, device_id: int) -> ModbusPDU:
        if self.raw not in (0x0000, 0xFF00):
            return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_VALUE)
        return await super().datastore_update(context, device_id)


class ResyncFramer(FramerSocket):
    """Drops bytes that cannot start an MBAP frame (protocol id not 0, length outside 2..254).
    pymodbus alone keeps them at the head of the buffer and waits for ever, so one burst of garbage
    would leave that connection answering nothing; a device discards it and reads on."""

    def decode(self, data: bytes) -> tuple[int, int, int, bytes]:
        if len(data) >= self.MIN_SIZE:
            protocol, length = struct.unpack(">HH", data[2:6])
            if protocol or not 2 <= length <= 254:
                log.debug("discarding %d bytes that are not Modbus TCP", len(data))
                return len(data), 0, 0, self.EMPTY
        return super().decode(data)


CUSTOM_PDUS: list[type[ModbusPDU]] = [ReadCoils, ReadDiscreteInputs, ReadHoldingRegisters, ReadInputRegisters,
                                      WriteSingleCoil]
ILLEGAL_FUNCTIONS: list[type[ModbusPDU]] = [
    type(f"IllegalFunction{fc:02X}", (IllegalFunction,), {"function_code": fc})
    for fc in range(1, 128)
    if fc not in SERVED_FUNCTIONS
]


class PlantDatastore(ModbusServerContext):
    """Answers pymodbus datastore calls from a `LivePlant` through its `RegisterMap`."""

    def __init__(self, plant: LivePlant, register_map: RegisterMap, unit_id: int | None = 1,
                 on_write: WriteHook | None = None, read_only: bool = False) -> None:
        # The base initialiser wants SimDevices (and logs a deprecation warning); this context is
        # its own datastore, which pymodbus serves through the `old_simulator` path.
        self.old_simulator = True
        self.simdevices = []
        self.plant = plant
        self.map = register_map
        self.unit_id = unit_id
        self.on_write = on_write
        self.read_only = read_only
        self.reads = 0
        self.writes = 0
        self.refused_writes = 0

    def device_ids(self) -> list[int]:
        return [self.unit_id if self.unit_id is not None else 0]

    def _other_unit(self, device_id: int) -> bool:
        return self.unit_id is not None and device_id != self.unit_id

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        if self._other_unit(device_id):
            return ExcCodes.GATEWAY_NO_RESPONSE
        table = READ_TABLES.get(func_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        self.reads += 1
        try:
            values: dict[str, Any] = self.plant.read()
            if table == INPUT and address + count > QUALITY_BASE:  # the quality block: codes per sensor
                values.update({QUALITY_PREFIX + tag: code for tag, code in self.plant.quality().items()})
            if table in BIT_TABLES:
                return self.map.read_bits(table, address, count, values)
            return self.map.read_registers(table, address, count, values)
        except MapAddressError:
            return ExcCodes.ILLEGAL_ADDRESS

    async def async_setValues(
        self, device_id: int, func_code: int, address: int, values: Sequence[int] | Sequence[bool]
    ) -> ExcCodes | None:
        if self._other_unit(device_id):
            return ExcCodes.GATEWAY_NO_RESPONSE
        table = WRITE_TABLES.get(func_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        if self.read_only:
            self.refused_writes += 1
            return ExcCodes.ILLEGAL_FUNCTION
        try:
            if table in BIT_TABLES:
                decoded: Mapping[str, Any] = self.map.decode_bits(table, address, [bool(v) for v in values])
            else:
                decoded = self.map.decode_registers(table, address, [int(v) for v in values])
            stored = self.plant.write_many(decoded)
        except PlantPausedError:
            self.refused_writes += 1
            return ExcCodes.DEVICE_BUSY
        except (MapAddressError, UnknownTagError):
            return ExcCodes.ILLEGAL_ADDRESS
        except (MapValueError, SimulationParamError):
            return ExcCodes.ILLEGAL_VALUE
        self.writes += 1
        if self.on_write is not None:
            try:
                self.on_write(stored, "modbus")
            except Exception:  # the write happened; a failing observer must not turn it into an error
                log.exception("on_write callback failed")
        return None


class ModbusPlantServer:
    """Modbus TCP server for one plant. `await start()` binds (port 0 picks a free port; a port that
    cannot be bound raises OSError), `await stop()` closes the listener and every client connection,
    so the port is free again at once."""

    def __init__(
        self,
        plant: LivePlant,
        *,
        host: str = "127.0.0.1",
        port: int = 502,
        unit_id: int | None = 1,
        on_write: WriteHook | None = None,
        read_only: bool = False,
    ) -> None:
        if unit_id is not None and not 0 <= unit_id <= 255:
            raise ValueError("unit_id must be 0..255 (or None to answer every unit id)")
        self.plant = plant
        self.host = host
        self.port = port
        self.register_map = RegisterMap(plant.name, plant.table)
        self.datastore = PlantDatastore(plant, self.register_map, unit_id, on_write, read_only)
        self._server: ModbusTcpServer | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def clients(self) -> int:
        """TCP connections open now (pymodbus keeps one protocol object per connection)."""
        server = self._server
        return len(server.active_connections) if server is not None else 0

    async def start(self) -> tuple[str, int]:
        if self._server is not None:
            raise RuntimeError("the Modbus server is already running")
        identity = ModbusDeviceIdentification(info_name={
            "VendorName": "Sealforge",
            "ProductCode": f"SIM-{self.plant.name.upper()}",
            "ProductName": f"Sealforge live plant: {self.plant.plant_cls.title}",
            "ModelName": self.plant.name,
            "MajorMinorRevision": self.plant.plant_cls.version,
        })
        server = ModbusTcpServer(self.datastore, address=(self.host, self.port), identity=identity,
                                 custom_pdu=CUSTOM_PDUS + ILLEGAL_FUNCTIONS)
        server.framer = ResyncFramer  # read by each new connection's handler
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:  # pymodbus logs the OSError and raises this instead
            raise OSError(f"Modbus TCP cannot listen on {self.host}:{self.port} (in use or not permitted)") from exc
        sockets = getattr(server.transport, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self._server = server
        log.info("Modbus TCP for %s on %s:%d", self.plant.name, self.host, self.port)
        return self.address

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        listener = server.transport
        await server.shutdown()
        if isinstance(listener, asyncio.AbstractServer):
            await listener.wait_closed()
