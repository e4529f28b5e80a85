"""Live SCADA serving, side by side with plain protocol servers, in one run.

* Modbus TCP: read requests per second from a closed-loop client (raw sockets, N connections, one
  request in flight each, alternating the scaled and the float32 input-register blocks) against a
  `LiveRun` (water plant stepping in real time at 10 Hz, registers read from the plant on every
  request), beside a plain pymodbus server on a static `ModbusSequentialDataBlock` answering the
  same requests. Goal: >= 5,000 req/s.
* OPC UA: data changes per second delivered to one subscriber (100 ms publishing interval,
  queue size 50) for 250 nodes that change on every tick, at `--rate` ticks per second: our
  server with power-feeder plants stepped each tick (`update()` publishes what changed), beside an
  asyncua server with 250 plain Double variables written in a loop at the same rate. Delivered
  = notifications received with a server timestamp inside the measured window / changes the
  server made to those nodes in it. Goal: >= 10,000 changes/s with >= 95 % delivered.

Each server runs in its own process; the load generator or subscriber in another.

    .venv/bin/python bench/live.py [--seconds 5] [--connections 4] [--nodes 250] [--rate 48] [--only modbus|opcua]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import multiprocessing as mp
import os
import selectors
import socket
import statistics
import struct
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PUBLISH_MS = 100
QUEUE_SIZE = 50  # about 1 s of changes per node: rides out GC and scheduling stalls on a shared box
logging.getLogger("asyncua").setLevel(logging.ERROR)
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


# -- Modbus -----------------------------------------------------------------------------------------
def modbus_ours(conn: Connection) -> None:
    from simulators.protocols import LiveRun, LiveRunConfig

    run = LiveRun("water", LiveRunConfig(scan_period=0.1, modbus_port=0))
    run.start()
    assert run.modbus is not None
    n_ir = len(run.modbus.register_map.tables["input_register"].points) // 2
    conn.send((run.modbus_address, n_ir))
    cpu0 = os.times()
    conn.recv()
    cpu1 = os.times()
    summary = run.stop()
    conn.send({"scans": summary["scans"], "cpu_s": cpu1.user + cpu1.system - cpu0.user - cpu0.system})


def modbus_peer(conn: Connection, n_ir: int) -> None:
    from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
    from pymodbus.server import ModbusTcpServer

    async def main() -> None:
        block = ModbusSequentialDataBlock(1, list(range(1100)))
        context = ModbusServerContext(ModbusDeviceContext(ir=block, hr=ModbusSequentialDataBlock(1, [0] * 1100)))
        server = ModbusTcpServer(context, address=("127.0.0.1", 0))
        await server.serve_forever(background=True)
        conn.send((("127.0.0.1", server.transport.sockets[0].getsockname()[1]), n_ir))
        cpu0 = os.times()
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        cpu1 = os.times()
        await server.shutdown()
        conn.send({"cpu_s": cpu1.user + cpu1.system - cpu0.user - cpu0.system})

    asyncio.run(main())


def modbus_load(address: tuple[str, int], n_ir: int, seconds: float, connections: int) -> dict[str, float]:
    frames = [struct.pack(">HHHBBHH", 0, 0, 6, 1, 4, 0, n_ir), struct.pack(">HHHBBHH", 0, 0, 6, 1, 4, 1000, 2 * n_ir)]
    sizes = [9 + 2 * n_ir, 9 + 4 * n_ir]
    sel = selectors.DefaultSelector()
    state: dict[socket.socket, list[Any]] = {}
    for k in range(connections):
        sock = socket.create_connection(address)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ)
        state[sock] = [k % 2, b"", 0.0]
    latencies: list[float] = []
    errors = 0
    end = time.perf_counter() + seconds
    for sock, st in state.items():
        st[2] = time.perf_counter()
        sock.send(frames[st[0]])
    while time.perf_counter() < end:
        for key, _ in sel.select(timeout=1.0):
            sock = key.fileobj  # type: ignore[assignment]
            st = state[sock]
            st[1] += sock.recv(4096)
            if len(st[1]) < sizes[st[0]] and not (len(st[1]) >= 8 and st[1][7] & 0x80):
                continue
            now = time.perf_counter()
            latencies.append(now - st[2])
            if st[1][7] & 0x80 or len(st[1]) != sizes[st[0]]:
                errors += 1
            st[0] ^= 1
            st[1] = b""
            st[2] = now
            sock.send(frames[st[0]])
    elapsed = seconds + (time.perf_counter() - end)
    for sock in state:
        sock.close()
    latencies.sort()
    return {"req_s": len(latencies) / elapsed, "errors": errors,
            "p50_ms": statistics.median(latencies) * 1000, "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000}


def bench_modbus(seconds: float, connections: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, target in (("sealforge", modbus_ours), ("peer", modbus_peer)):
        parent, child = mp.Pipe()
        args: tuple[Any, ...] = (child,) if name == "sealforge" else (child, out["n_ir"])
        proc = mp.Process(target=target, args=args)
        proc.start()
        address, out["n_ir"] = parent.recv()
        time.sleep(0.5)
        result = modbus_load(address, out["n_ir"], seconds, connections)
        parent.send("stop")
        result.update(parent.recv())
        result["server_cpu_pct"] = 100 * result["cpu_s"] / seconds
        proc.join(30)
        out[name] = result
    out["ratio"] = out["sealforge"]["req_s"] / out["peer"]["req_s"]
    return out


# -- OPC UA -----------------------------------------------------------------------------------------
async def _tick(rate: float, seconds: float, step: Any) -> tuple[float, float, int, int]:
    """Call `await step()` `rate` times a second for `seconds`; (t_start, t_end, ticks, changes)."""
    ticks = int(seconds * rate)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    start = time.time()
    changes = 0
    for k in range(ticks):
        delay = t0 + k / rate - loop.time()
        await asyncio.sleep(max(delay, 0.0))  # a late tick still yields, so publishing and I/O go on
        changes += await step()
    return start, time.time(), ticks, changes


def opcua_ours(conn: Connection, nodes: int, rate: float, seconds: float) -> None:
    from simulators import LivePlant
    from simulators.protocols.opcua import OpcUaPlantServer

    async def main() -> None:
        per_plant = sum(1 for t in LivePlant("power").tags() if t["role"] == "sensor")
        count = math.ceil(nodes / per_plant)
        plants = [LivePlant("power", seed=k, scan_period=round(1 / rate, 4)) for k in range(count)]
        server = OpcUaPlantServer(plants, port=0)
        await server.start()
        watched = [(s, t.name) for s in server.served for t in s.plant.table.sensors][:nodes]
        conn.send((server.endpoint, [(s.ns, tag) for s, tag in watched]))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)

        async def step() -> int:
            before = {id(s): s.plant.read() for s in server.served}
            for p in plants:
                p.step()
            published = server.changes
            await server.update()
            step.published += server.changes - published  # type: ignore[attr-defined]
            after = {id(s): s.plant.read() for s in server.served}
            return sum(1 for s, tag in watched if after[id(s)][tag] != before[id(s)][tag])

        step.published = 0  # type: ignore[attr-defined]
        cpu0 = os.times()
        window = await _tick(rate, seconds, step)
        cpu1 = os.times()
        cpu = cpu1.user + cpu1.system - cpu0.user - cpu0.system
        conn.send((*window, cpu, f"{step.published:,} changes published in all, {len(plants)} plants"))  # type: ignore[attr-defined]
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await server.stop()

    asyncio.run(main())


def opcua_peer(conn: Connection, nodes: int, rate: float, seconds: float) -> None:
    from datetime import UTC, datetime

    from asyncua import Server, ua

    async def main() -> None:
        server = Server()
        await server.init()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/peer/")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = await server.register_namespace("urn:peer")
        folder = await server.nodes.objects.add_folder(ns, "Peer")
        variables = [await folder.add_variable(ua.NodeId(f"v{i}", ns), f"v{i}", 0.0) for i in range(nodes)]
        await server.start()
        conn.send((f"opc.tcp://127.0.0.1:{port}/peer/", [(ns, f"v{i}") for i in range(nodes)]))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        ids = [v.nodeid for v in variables]
        counter = [0]

        async def step() -> int:
            counter[0] += 1
            now = datetime.now(UTC)
            base = float(counter[0])
            for i, nid in enumerate(ids):
                await server.write_attribute_value(nid, ua.DataValue(ua.Variant(base + i * 1e-3, ua.VariantType.Double),
                                                                     ServerTimestamp=now))
            return len(ids)

        cpu0 = os.times()
        window = await _tick(rate, seconds, step)
        cpu1 = os.times()
        conn.send((*window, cpu1.user + cpu1.system - cpu0.user - cpu0.system, ""))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await server.stop()

    asyncio.run(main())


def opcua_subscriber(conn: Connection, endpoint: str, node_ids: list[tuple[int, str]]) -> None:
    from asyncua import Client, ua

    stamps: list[float] = []

    class Handler:
        def datachange_notification(self, node: Any, value: Any, data: Any) -> None:
            stamp = data.monitored_item.Value.ServerTimestamp
            stamps.append(stamp.timestamp() if stamp is not None else 0.0)

    async def main() -> None:
        async with Client(endpoint, timeout=30) as client:
            params = ua.CreateSubscriptionParameters(RequestedPublishingInterval=PUBLISH_MS,
                                                     RequestedLifetimeCount=10000, RequestedMaxKeepAliveCount=3000,
                                                     MaxNotificationsPerPublish=0, PublishingEnabled=True, Priority=0)
            sub = await client.create_subscription(params, Handler())
            await sub.subscribe_data_change([client.get_node(ua.NodeId(i, ns)) for ns, i in node_ids],
                                            queuesize=QUEUE_SIZE)
            await asyncio.sleep(1.0)
            conn.send("ready")
            t_start, t_end = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
            last = -1
            while len(stamps) != last:  # drain: wait until nothing more arrives
                last = len(stamps)
                await asyncio.sleep(1.0)
            inside = sum(1 for s in stamps if t_start - 0.01 <= s <= t_end + 0.01)
            conn.send(inside)

    asyncio.run(main())


def bench_opcua(nodes: int, rate: float, seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, target in (("sealforge", opcua_ours), ("peer", opcua_peer)):
        s_parent, s_child = mp.Pipe()
        server = mp.Process(target=target, args=(s_child, nodes, rate, seconds))
        server.start()
        endpoint, node_ids = s_parent.recv()
        c_parent, c_child = mp.Pipe()
        client = mp.Process(target=opcua_subscriber, args=(c_child, endpoint, node_ids))
        client.start()
        assert c_parent.recv() == "ready"
        s_parent.send("go")
        t_start, t_end, ticks, changes, cpu_s, note = s_parent.recv()
        c_parent.send((t_start, t_end))
        received = c_parent.recv()
        client.join(30)  # the subscriber disconnects before its server goes away
        s_parent.send("stop")
        server.join(30)
        wall = t_end - t_start
        out[name] = {"nodes": len(node_ids), "ticks": ticks, "tick_rate": ticks / wall, "changes": changes,
                     "note": note, "received": received, "changes_s": received / wall,
                     "delivered_pct": 100 * received / max(changes, 1), "server_cpu_pct": 100 * cpu_s / wall}
    out["ratio"] = out["sealforge"]["changes_s"] / out["peer"]["changes_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--nodes", type=int, default=250)
    parser.add_argument("--rate", type=float, default=48.0, help="OPC UA ticks (plant scans) per second")
    parser.add_argument("--only", choices=("modbus", "opcua"))
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")
    if args.only in (None, "modbus"):
        mb = bench_modbus(args.seconds, args.connections)
        print(f"\nModbus TCP, FC4 reads ({mb['n_ir']} scaled / {2 * mb['n_ir']} float32 registers, alternating), "
              f"{args.connections} connections, {args.seconds:g} s")
        print(f"{'server':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'server CPU':>12}")
        for name, label in (("sealforge", "Sealforge LiveRun (water, 10 Hz)"), ("peer", "pymodbus static block")):
            r = mb[name]
            print(f"{label:<34}{r['req_s']:>9,.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['errors']:>8}"
                  f"{r['server_cpu_pct']:>11.0f}%")
        print(f"ratio sealforge / peer: {mb['ratio']:.2f}x   (goal >= 5,000 req/s)")
    if args.only in (None, "opcua"):
        ua_res = bench_opcua(args.nodes, args.rate, args.seconds)
        print(f"\nOPC UA data changes to one subscriber: {args.nodes} nodes, {args.rate:g} ticks/s, "
              f"{PUBLISH_MS} ms publishing, queue {QUEUE_SIZE}, {args.seconds:g} s")
        print(f"{'server':<34}{'ticks/s':>9}{'changes':>9}{'received':>10}{'changes/s':>11}{'delivered':>11}"
              f"{'server CPU':>12}")
        for name, label in (("sealforge", "Sealforge (power plants)"), ("peer", "asyncua, plain variables")):
            r = ua_res[name]
            print(f"{label:<34}{r['tick_rate']:>9.1f}{r['changes']:>9,}{r['received']:>10,}{r['changes_s']:>11,.0f}"
                  f"{r['delivered_pct']:>10.1f}%{r['server_cpu_pct']:>11.0f}%")
        print(f"Sealforge: {ua_res['sealforge']['note']} (every tag of every plant, not only the watched nodes)")
        print(f"ratio sealforge / peer: {ua_res['ratio']:.2f}x   (goal >= 10,000 changes/s, >= 95 % delivered)")


if __name__ == "__main__":
    main()
