"""Modbus TCP against a live plant with the real pymodbus client over loopback."""

from __future__ import annotations

import logging
import socket
import struct
import time
from collections.abc import Callable, Iterator, Sequence

import pytest
from pymodbus.client import ModbusTcpClient

from simulators import LivePlant
from simulators.protocols.modbus import ModbusPlantServer
from simulators.protocols.register_map import (
    COIL,
    DISCRETE_INPUT,
    FLOAT_BASE,
    HOLDING,
    INPUT,
    QUALITY_BASE,
    RegisterMap,
)
from tests.simulators.protocols.conftest import QUIET, STEADY, LoopThread, port_is_free, water_plant

UNIT = 7


@pytest.fixture(scope="module")
def served(server_loop: LoopThread) -> Iterator[tuple[LivePlant, ModbusPlantServer]]:
    plant = water_plant()
    server = ModbusPlantServer(plant, port=0, unit_id=UNIT)
    server_loop.run(server.start())
    yield plant, server
    server_loop.run(server.stop())


@pytest.fixture
def client(served: tuple[LivePlant, ModbusPlantServer]) -> Iterator[ModbusTcpClient]:
    host, port = served[1].address
    c = ModbusTcpClient(host, port=port, timeout=3, retries=0)
    assert c.connect()
    yield c
    c.close()


def _decode(regmap: RegisterMap, table: str, address: int, words: Sequence[int]) -> dict[tuple[str, str], float]:
    out = {}
    for p in regmap.tables[table].points:
        if address <= p.address and p.address + p.count <= address + len(words):
            out[(p.tag, p.encoding)] = p.decode(words[p.address - address : p.address - address + p.count])
    return out


def test_reads_every_mapped_address(served: tuple[LivePlant, ModbusPlantServer], client: ModbusTcpClient) -> None:
    plant, server = served
    regmap = server.register_map
    values = plant.read()
    for table, fn in ((COIL, client.read_coils), (DISCRETE_INPUT, client.read_discrete_inputs)):
        n = len(regmap.tables[table].points)
        bits = fn(0, count=n, device_id=UNIT).bits[:n]
        assert bits == [bool(values[p.tag]) for p in regmap.tables[table].points]
    for table, fn in ((HOLDING, client.read_holding_registers), (INPUT, client.read_input_registers)):
        n = len([p for p in regmap.tables[table].points if p.role != "quality"]) // 2
        scaled = _decode(regmap, table, 0, fn(0, count=n, device_id=UNIT).registers)
        floats = _decode(regmap, table, FLOAT_BASE, fn(FLOAT_BASE, count=2 * n, device_id=UNIT).registers)
        assert len(scaled) == len(floats) == n
        for (tag, enc), got in {**scaled, **floats}.items():
            step = 1 / regmap.point(tag).scale if enc != "float32" else abs(values[tag]) * 1e-6
            assert got == pytest.approx(values[tag], abs=step / 2 + 1e-9), (tag, enc)
    pair = client.read_input_registers(FLOAT_BASE, count=2, device_id=UNIT).registers
    level = client.convert_from_registers(pair, client.DATATYPE.FLOAT32, word_order="big")
    assert level == pytest.approx(values["LIT101"], rel=1e-6)


def test_setpoint_write_moves_the_process(served: tuple[LivePlant, ModbusPlantServer],
                                          client: ModbusTcpClient) -> None:
    plant, server = served
    sp = server.register_map.point("LIC101.SP")
    assert not client.write_register(sp.address, 36000, device_id=UNIT).isError()  # 3.6 m, scaled x10000
    assert plant.read_tag("LIC101.SP") == pytest.approx(3.6)
    assert client.read_holding_registers(sp.address, count=1, device_id=UNIT).registers == [36000]
    cl_sp = server.register_map.point("AIC201.SP", "float32")
    regs = client.convert_to_registers(1.5, client.DATATYPE.FLOAT32, word_order="big")
    assert not client.write_registers(cl_sp.address, regs, device_id=UNIT).isError()
    assert plant.read_tag("AIC201.SP") == 1.5
    plant.advance(1500)
    level = server.register_map.point("LIT101", "float32")
    words = client.read_input_registers(level.address, count=2, device_id=UNIT).registers
    assert client.convert_from_registers(words, client.DATATYPE.FLOAT32) == pytest.approx(3.6, abs=0.05)
    plant.write("LIC101.SP", 3.0)


def test_coils_command_the_plant(served: tuple[LivePlant, ModbusPlantServer], client: ModbusTcpClient) -> None:
    plant, server = served
    run = server.register_map.point("P201.RUN")
    assert not client.write_coil(run.address, False, device_id=UNIT).isError()
    plant.step(2)
    running = server.register_map.point("P201")
    assert client.read_discrete_inputs(running.address, count=1, device_id=UNIT).bits[0] is False
    flow = server.register_map.point("FIT201")
    assert client.read_input_registers(flow.address, count=1, device_id=UNIT).registers == [0]
    assert not client.write_coils(run.address, [True], device_id=UNIT).isError()
    plant.step(2)
    assert client.read_discrete_inputs(running.address, count=1, device_id=UNIT).bits[0] is True


def test_exception_codes(served: tuple[LivePlant, ModbusPlantServer], client: ModbusTcpClient) -> None:
    plant, server = served
    regmap = server.register_map
    n_ir = (len(regmap.tables[INPUT].points) - len(regmap.quality_points)) // 2
    n_coils = len(regmap.tables[COIL].points)
    before = plant.read()
    illegal_address = [
        client.read_input_registers(n_ir, count=1, device_id=UNIT),  # the gap before the float block
        client.read_input_registers(n_ir - 1, count=2, device_id=UNIT),  # runs into it
        client.read_input_registers(FLOAT_BASE + 2 * n_ir, count=1, device_id=UNIT),  # past the end
        client.read_coils(n_coils, count=1, device_id=UNIT),  # inside the last byte, but unmapped
        client.read_holding_registers(9000, count=2, device_id=UNIT),
        client.write_register(FLOAT_BASE, 0x4000, device_id=UNIT),  # half a float32
    ]
    assert [r.exception_code for r in illegal_address] == [2] * len(illegal_address)
    sp = regmap.point("LIC101.SP")
    illegal_value = [
        client.write_register(sp.address, 60000, device_id=UNIT),  # 6 m > 5 m
        client.write_registers(FLOAT_BASE, [0x7FC0, 0], device_id=UNIT),  # NaN
        client.write_registers(FLOAT_BASE, client.convert_to_registers(-1.0, client.DATATYPE.FLOAT32),
                               device_id=UNIT),
    ]
    assert [r.exception_code for r in illegal_value] == [3] * len(illegal_value)
    assert plant.read() == before  # nothing was written
    fifo = client.read_fifo_queue(address=0, device_id=UNIT)  # pymodbus alone would send dummy data
    assert fifo.isError() and fifo.exception_code == 1
    assert client.read_holding_registers(0, count=1, device_id=UNIT + 1).exception_code == 0x0B


def _mbap(transaction: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu


def test_unknown_function_code_echoes_it(served: tuple[LivePlant, ModbusPlantServer]) -> None:
    with socket.create_connection(served[1].address, timeout=3) as sock:
        sock.sendall(_mbap(9, UNIT, b"\x41\x00\x00"))
        assert sock.recv(64) == _mbap(9, UNIT, b"\xc1\x01")  # function | 0x80, ILLEGAL FUNCTION


def _wait_until(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_garbage_and_dropped_clients_do_not_stop_the_server(served: tuple[LivePlant, ModbusPlantServer]) -> None:
    plant, server = served
    address = server.address
    with socket.create_connection(address, timeout=3) as sock:
        sock.sendall(bytes(range(256)) * 8)
    with socket.create_connection(address, timeout=3) as sock:
        sock.sendall(_mbap(1, UNIT, b"\x04\x00\x00\x00\x7d")[:9])  # half a request, then gone
    with socket.create_connection(address, timeout=3) as sock:
        sock.sendall(_mbap(2, UNIT, b"\x04\x00\x00\x00\x05"))  # gone before the answer
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
    with socket.create_connection(address, timeout=3) as sock:
        sock.sendall(_mbap(3, UNIT, b"\x03\xff\xff\x00\x7d"))  # address + count past 65535
        assert sock.recv(64) == _mbap(3, UNIT, b"\x83\x02")
    # the server has seen every one of those clients go and closed its side
    _wait_until(lambda: not server._server.active_connections, "the server to drop the dead connections")  # type: ignore[union-attr]
    fresh = ModbusTcpClient(address[0], port=address[1], timeout=3, retries=0)
    assert fresh.connect()
    try:
        regs = fresh.read_input_registers(0, count=3, device_id=UNIT).registers
        assert len(regs) == 3 and regs[0] == round(plant.read_tag("LIT101") * 10000)
    finally:
        fresh.close()


def test_stop_frees_the_port(server_loop: LoopThread) -> None:
    plant = LivePlant("chemical")
    first = ModbusPlantServer(plant, port=0)
    host, port = server_loop.run(first.start())
    c = ModbusTcpClient(host, port=port, timeout=3, retries=0)
    assert c.connect() and not c.read_input_registers(0, count=1).isError()
    server_loop.run(first.stop())
    c.close()
    assert port_is_free(host, port)
    second = ModbusPlantServer(plant, port=port)
    assert server_loop.run(second.start()) == (host, port)
    server_loop.run(second.stop())


def test_bad_quantity_bad_coil_value_and_resync(
    served: tuple[LivePlant, ModbusPlantServer], caplog: pytest.LogCaptureFixture
) -> None:
    plant, server = served
    caplog.set_level(logging.DEBUG, logger="simulators.protocols.modbus")
    run = server.register_map.point("P101.RUN")
    with socket.create_connection(server.address, timeout=3) as sock:
        sock.sendall(_mbap(1, UNIT, b"\x04\x00\x00\x00\xc8"))  # 200 registers: more than 125
        assert sock.recv(64) == _mbap(1, UNIT, b"\x84\x03")
        sock.sendall(_mbap(2, UNIT, struct.pack(">BHH", 5, run.address, 0x1234)))  # neither 0xFF00 nor 0
        assert sock.recv(64) == _mbap(2, UNIT, b"\x85\x03")
        assert plant.read_tag("P101.RUN") is True
        sock.sendall(b"\xde\xad\xbe\xef" * 8)  # not Modbus: dropped, the connection reads on
        # the next request goes once the server has read and dropped the garbage, not in the same read
        _wait_until(lambda: "not Modbus TCP" in caplog.text, "the server to discard the garbage")
        sock.sendall(_mbap(3, UNIT, b"\x02\x00\x00\x00\x01"))
        reply = sock.recv(64)
        assert reply[:2] == b"\x00\x03" and reply[7:9] == b"\x02\x01"  # transaction 3: FC 2, one byte of bits


def test_quality_block_shows_a_saturated_and_a_stale_sensor(server_loop: LoopThread) -> None:
    """A spoofed LIT101 driven past its 0..5.5 m range reads 5.5 m with quality 1 (uncertain,
    pinned at the range end), a LIT102 under denial of service holds with quality 2 (stale), every
    other sensor is 0 (good), and the codes leave once the attacks end, all read with FC 4 from
    the quality block."""
    attacks = [{"technique": "spoof", "start": 10, "duration": 20, "targets": ["LIT101"], "magnitude": 4.0},
               {"technique": "denial_of_service", "start": 10, "duration": 20, "targets": ["LIT102"]}]
    plant = LivePlant("water", STEADY, sensors=QUIET, attacks=attacks)
    server = ModbusPlantServer(plant, port=0, unit_id=UNIT)
    host, port = server_loop.run(server.start())
    c = ModbusTcpClient(host, port=port, timeout=3, retries=0)
    try:
        assert c.connect()
        regmap = server.register_map
        sensors = [p.tag.removeprefix("quality:") for p in regmap.quality_points]
        n = len(sensors)

        def codes() -> dict[str, int]:
            return dict(zip(sensors, c.read_input_registers(QUALITY_BASE, count=n, device_id=UNIT).registers,
                            strict=True))

        assert set(codes().values()) == {0}
        plant.step(15)
        during = codes()
        assert during["LIT101"] == 1 and during["LIT102"] == 2
        assert {q for t, q in during.items() if t not in ("LIT101", "LIT102")} == {0}
        assert during == plant.quality()
        level = regmap.point("LIT101", "float32")
        words = c.read_input_registers(level.address, count=2, device_id=UNIT).registers
        assert c.convert_from_registers(words, c.DATATYPE.FLOAT32) == 5.5  # saturated at the range top
        one = regmap.point("quality:LIT102")
        assert c.read_input_registers(one.address, count=1, device_id=UNIT).registers == [2]
        assert c.read_input_registers(QUALITY_BASE + n, count=1, device_id=UNIT).exception_code == 2  # past the end
        assert c.read_input_registers(QUALITY_BASE - 1, count=2, device_id=UNIT).exception_code == 2  # from the gap
        assert c.read_holding_registers(QUALITY_BASE, count=1, device_id=UNIT).exception_code == 2  # input only
        assert c.write_register(QUALITY_BASE, 0, device_id=UNIT).exception_code == 2  # not writable
        plant.step(20)
        assert set(codes().values()) == {0}
    finally:
        c.close()
        server_loop.run(server.stop())
