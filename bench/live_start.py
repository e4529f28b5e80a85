"""Benchmark: a live run's submit → both endpoints accepting connections, beside a bare pymodbus
server plus a bare asyncua server started in a process that has both libraries imported.

Sealforge: a live water run (Modbus TCP + OPC UA, security none) submitted through the service the
API calls, served by a real `sealforge worker --queue sim`; a client polls TCP connects to both
ports every 5 ms. It reports, per run: submit → both ports accept (what a client sees), submit →
the run reads `running` (what the API says; never before the ports accept), and where the time
went: submit → a worker claimed the job (queue polling), claimed → the worker saw its endpoints
accept (LiveRun start: plant, recording, both servers). The first run after the worker starts is
reported apart (the worker prepares the protocol libraries in the background when it starts;
`--settle` seconds are left for that).

Peer: `ModbusTcpServer.serve_forever(background=True)` and `asyncua.Server().init()` + `start()`,
the least a program serving both protocols does, timed from "start" to both ports accepting.

    .venv/bin/python bench/live_start.py [--runs 8] [--settle 8]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._load import free_port  # noqa: E402

POLL_S = 0.005


def two_ports() -> list[int]:
    while True:
        ports = [free_port(), free_port()]
        if ports[0] != ports[1]:
            return ports


def accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_accepting(ports: list[int], t0: float, timeout: float = 60) -> float:
    """Seconds from t0 until every port has accepted a TCP connection."""
    pending = set(ports)
    while pending:
        pending = {p for p in pending if not accepting(p)}
        if pending:
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError(f"ports {sorted(pending)} never accepted")
            time.sleep(POLL_S)
    return time.perf_counter() - t0


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


# -- Sealforge --------------------------------------------------------------------------------------
def sealforge(runs: int, settle: float) -> list[dict[str, float]]:
    from appliance.services import identity, scada
    from appliance.store.open import open_db

    policy = scada.LivePolicy("127.0.0.1", ("127.0.0.1",), max_runs=4, max_runs_per_tenant=4)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        conn = open_db(state)
        tenant = identity.create_tenant(conn, "bench", credits=1_000_000)
        worker = subprocess.Popen(
            [sys.executable, "-m", "appliance.cli.main", "worker", "--queue", "sim", "--state-dir", str(state)],
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(settle)  # the worker's start-up, not part of any run
            for _ in range(runs + 1):
                ports = two_ports()
                body = {
                    "plant": "water",
                    "seed": 1,
                    "speed": 1.0,
                    "modbus": {"port": ports[0]},
                    "opcua": {"port": ports[1], "security": "none"},
                }
                wall0, t0 = time.time(), time.perf_counter()
                run = scada.start(conn, state, tenant["id"], "bench", body, policy, max_attempts=1)
                submit_s = time.perf_counter() - t0
                accept_s = wait_accepting(ports, t0)
                while scada.view(conn, scada.require(conn, tenant["id"], run["id"]))["status"] != "running":
                    time.sleep(POLL_S)
                running_s = time.perf_counter() - t0
                seen = scada.view(conn, scada.require(conn, tenant["id"], run["id"]))
                ready = max(epoch(e["since"]) for e in seen["endpoints"])
                out.append(
                    {
                        "accepting": accept_s,
                        "running": running_s,
                        "submit": submit_s,
                        "queue": epoch(seen["started_at"]) - wall0,
                        "start": ready - epoch(seen["started_at"]),
                    }
                )
                scada.stop(conn, tenant["id"], run["id"])
                while conn.execute("SELECT status FROM jobs WHERE id = ?", (run["job_id"],)).fetchone()[0] not in (
                    "succeeded",
                    "failed",
                    "canceled",
                ):
                    time.sleep(0.05)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
    return out


# -- peer -------------------------------------------------------------------------------------------
def peer_process(conn: Connection) -> None:
    logging.disable(logging.WARNING)
    from asyncua import Server
    from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
    from pymodbus.server import ModbusTcpServer

    async def serve(modbus_port: int, opcua_port: int) -> None:
        block = ModbusSequentialDataBlock(1, [0] * 2000)
        context = ModbusServerContext(ModbusDeviceContext(ir=block, hr=block))
        modbus = ModbusTcpServer(context, address=("127.0.0.1", modbus_port))
        await modbus.serve_forever(background=True)
        opcua = Server()
        await opcua.init()
        opcua.set_endpoint(f"opc.tcp://127.0.0.1:{opcua_port}/peer/")
        await opcua.start()
        conn.send("started")
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await opcua.stop()
        await modbus.shutdown()

    while (ports := conn.recv()) is not None:
        asyncio.run(serve(*ports))


def peer(runs: int) -> list[float]:
    ctx = mp.get_context("spawn")
    here, there = ctx.Pipe()
    proc = ctx.Process(target=peer_process, args=(there,), daemon=True)
    proc.start()
    out = []
    for _ in range(runs + 1):
        ports = two_ports()
        t0 = time.perf_counter()
        here.send(ports)
        out.append(wait_accepting(ports, t0))
        assert here.recv() == "started"
        here.send("stop")
    here.send(None)
    proc.join(timeout=30)
    return out[1:]  # the first one also pays the imports' first use


def med(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--settle", type=float, default=8.0)
    args = parser.parse_args()
    ours = sealforge(args.runs, args.settle)
    bare = peer(args.runs)
    first, warm = ours[0], ours[1:]
    print(f"live run start, {args.runs} runs each (median; first Sealforge run after worker start apart)")
    print(
        f"  Sealforge submit -> both ports accept      {med([r['accepting'] for r in warm])}"
        f"   (max {max(r['accepting'] for r in warm) * 1000:.0f} ms; first run {first['accepting'] * 1000:.0f} ms)"
    )
    print(
        f"    first run: submit {first['submit'] * 1000:.0f} ms, queue {first['queue'] * 1000:.0f} ms,"
        f" start {first['start'] * 1000:.0f} ms"
    )
    print(f"  Sealforge submit -> GET says running       {med([r['running'] for r in warm])}")
    print(f"    of which submit -> worker claims the job {med([r['queue'] for r in warm])}")
    print(f"    of which claim -> endpoints accept       {med([r['start'] for r in warm])}")
    print(f"  peer: pymodbus + asyncua start -> accept   {med(bare)}   (max {max(bare) * 1000:.0f} ms)")
    ratio = statistics.median(r["accepting"] for r in warm) / statistics.median(bare)
    print(f"  ratio Sealforge / peer: {ratio:.2f}x   goal: submit -> accepting <= 2000 ms")


if __name__ == "__main__":
    main()
