"""A small closed-loop HTTP load generator: N processes × M keep-alive connections, each sending
GETs back to back for a fixed time. Used by the benchmarks so they need nothing but Python."""

from __future__ import annotations

import http.client
import multiprocessing as mp
import statistics
import threading
import time
from dataclasses import dataclass


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def _connection_loop(
    host: str, port: int, path: str, headers: dict[str, str], until: float, out: list[float], errs: list[int]
) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    while time.perf_counter() < until:
        start = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errs.append(response.status)
        except OSError:
            errs.append(-1)
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=10)
            continue
        out.append(time.perf_counter() - start)
    conn.close()


def _process(args: tuple[str, int, str, dict[str, str], float, int], queue: mp.Queue[tuple[list[float], int]]) -> None:
    host, port, path, headers, seconds, connections = args
    until = time.perf_counter() + seconds
    latencies: list[float] = []
    errors: list[int] = []
    threads = [
        threading.Thread(target=_connection_loop, args=(host, port, path, headers, until, latencies, errors))
        for _ in range(connections)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put((latencies, len(errors)))


def run_load(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    seconds: float = 5.0,
    processes: int = 2,
    connections: int = 4,
) -> LoadResult:
    queue: mp.Queue[tuple[list[float], int]] = mp.Queue()
    procs = [
        mp.Process(target=_process, args=((host, port, path, headers, seconds, connections), queue))
        for _ in range(processes)
    ]
    started = time.perf_counter()
    for p in procs:
        p.start()
    latencies: list[float] = []
    errors = 0
    for _ in procs:
        got, errs = queue.get()
        latencies += got
        errors += errs
    for p in procs:
        p.join()
    elapsed = max(seconds, time.perf_counter() - started - 0.2)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)] if latencies else float("nan")
    return LoadResult(len(latencies), errors, elapsed, statistics.median(latencies) * 1000, p99 * 1000)


def free_port() -> int:
    """A TCP port free on loopback now (for a server a benchmark starts)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], pct: float) -> float:
    """The ``pct``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
