"""Benchmark: webhook fan-out. 1,000 events to 10 endpoints, delivery latency from commit to
receipt, and what delivering does to the API's own latency.

- Sealforge: `sealforge api` (one gevent worker) and `sealforge webhooks-deliver`, as `serve` runs
  them, over a fresh state dir. Ten receivers (plain `http.server`, one thread per request) run in
  a process of their own and note the wall-clock time each delivery arrives. The events are real:
  ``--events`` dataset uploads (a 3-row CSV, POST /v1/datasets) from ``--clients`` client threads,
  each upload committing its `dataset.created` message and one delivery per endpoint in its own
  transaction. Latency is receipt time minus the message's `committed_at` (the time `emit` wrote it,
  inside the upload's transaction), the same clock on both sides.
- API effect: the same uploads first with no endpoint registered, then with the ten, while the
  deliverer sends; p50/p99 of the upload requests both times, and their ratio.
- Peer: the floor of any sender: the same number of POSTs (same body size) sent straight to the
  same receivers by ``--endpoints`` threads with keep-alive httpx clients, no outbox, no signing,
  no database: its per-request latency, and its throughput beside the deliverer's.

    .venv/bin/python bench/webhooks.py [--events 1000] [--endpoints 10] [--clients 4] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SEALFORGE = [sys.executable, "-m", "appliance.cli.main"]
CSV = b"id,flow,site\n1,10.5,north\n2,11.0,south\n3,9.8,east\n"


# --- the receivers' process ----------------------------------------------------------------------


def _receivers(count: int, pipe: Connection) -> None:
    """``count`` receivers on free loopback ports; sends the ports, then, when asked, every
    (port, webhook-id, receipt time) seen."""
    seen: list[tuple[int, str, float]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            at = time.time()
            port = int(self.server.server_address[1])  # type: ignore[index]
            with lock:
                seen.append((port, self.headers.get("webhook-id", ""), at))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(count)]
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    pipe.send([s.server_address[1] for s in servers])
    while True:
        command = pipe.recv()
        with lock:
            pipe.send(list(seen))
            seen.clear()
        if command == "stop":
            break


@contextmanager
def receivers(count: int) -> Iterator[tuple[list[int], Connection]]:
    ours, theirs = mp.Pipe()
    proc = mp.get_context("fork").Process(target=_receivers, args=(count, theirs), daemon=True)
    proc.start()
    try:
        yield ours.recv(), ours
    finally:
        ours.send("stop")
        ours.recv()
        proc.join(timeout=10)


def collect(pipe: Connection) -> list[tuple[int, str, float]]:
    pipe.send("collect")
    got: list[tuple[int, str, float]] = pipe.recv()
    return got


# --- the appliance -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([*SEALFORGE, *args], stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True, cwd=ROOT)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def tenant_key(state: Path) -> str:
    from appliance.cli.release import release
    from appliance.services import identity
    from appliance.store.open import open_db

    db = open_db(state)
    tenant = identity.create_tenant(db, "bench", credits=1000)
    key = str(identity.create_key(db, tenant["id"], ["admin"])["api_key"])
    release(state)
    return key


def uploads(url: str, key: str, count: int, clients: int) -> list[float]:
    """``count`` uploads from ``clients`` threads; each one's latency in ms."""
    latencies: list[float] = []
    lock = threading.Lock()
    left = iter(range(count))

    def client() -> None:
        with httpx.Client(base_url=url, headers={"X-API-Key": key, "Content-Type": "text/csv"}, timeout=60) as http:
            for n in left:
                began = time.perf_counter()
                answer = http.post("/v1/datasets", params={"name": f"r{n}.csv"}, content=CSV)
                took = (time.perf_counter() - began) * 1000
                assert answer.status_code == 201, answer.text
                with lock:
                    latencies.append(took)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def direct_posts(ports: list[int], per_endpoint: int, body: bytes) -> tuple[list[float], float]:
    """The peer: plain POSTs to each receiver from its own thread; latencies (ms) and seconds."""
    latencies: list[float] = []
    lock = threading.Lock()

    def sender(port: int) -> None:
        with httpx.Client(timeout=10) as http:
            for _ in range(per_endpoint):
                began = time.perf_counter()
                http.post(f"http://127.0.0.1:{port}/hook", content=body, headers={"Content-Type": "application/json"})
                with lock:
                    latencies.append((time.perf_counter() - began) * 1000)

    began = time.perf_counter()
    threads = [threading.Thread(target=sender, args=(p,)) for p in ports]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    state, log = work / "var", work / "bench.log"
    key = tenant_key(state)
    env = {**os.environ, "SEALFORGE_SERVER_WORKERS": "1", "SEALFORGE_RATELIMIT_ENABLED": "false"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    total = args.events * args.endpoints
    with receivers(args.endpoints) as (ports, pipe):
        api = start(["api", "--host", "127.0.0.1", "--port", str(port), "--state-dir", str(state)], log, env)
        deliverer = start(["webhooks-deliver", "--state-dir", str(state)], log, env)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            uploads(url, key, 50, args.clients)  # warm-up: imports, first requests, connection pools
            without = uploads(url, key, args.events, args.clients)
            http = httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30)
            for p in ports:
                hook = {"url": f"http://127.0.0.1:{p}/hook", "events": ["dataset.created"]}
                made = http.post("/v1/webhooks", json=hook)
                assert made.status_code == 201, made.text
            began = time.perf_counter()
            with_hooks = uploads(url, key, args.events, args.clients)
            upload_s = time.perf_counter() - began
            seen: list[tuple[int, str, float]] = []
            deadline = time.monotonic() + 600
            while len(seen) < total and time.monotonic() < deadline:
                time.sleep(0.5)
                seen += collect(pipe)
            all_done_s = time.perf_counter() - began
        finally:
            stop(deliverer)
            stop(api)
        from appliance.store.db import fetch_all
        from appliance.store.open import open_db

        rows = fetch_all(open_db(state), "SELECT id, committed_at, body FROM webhook_messages")
        committed = {r["id"]: r["committed_at"] for r in rows}
        body_size = len(rows[0]["body"])
        pairs = {(p, i) for p, i, _ in seen}
        latency = [(at - committed[i]) * 1000 for _, i, at in seen if i in committed]
        peer, peer_s = direct_posts(ports, args.events, b"x" * body_size)
        collect(pipe)

    print(f"webhooks: {args.events} events x {args.endpoints} endpoints = {total} deliveries "
          f"({len(pairs)} distinct arrived, {len(seen) - len(pairs)} duplicates), body {body_size} B, "
          f"{args.clients} upload clients, {os.cpu_count()} CPUs")
    print(f"  commit -> receipt   p50 {pct(latency, 50):8.1f} ms   p99 {pct(latency, 99):8.1f} ms   "
          f"max {max(latency):8.1f} ms")
    print(f"  deliverer throughput {total / all_done_s:8.0f} deliveries/s (uploads took {upload_s:.1f} s, "
          f"all delivered after {all_done_s:.1f} s)")
    print(f"  peer direct POST    p50 {pct(peer, 50):8.2f} ms   p99 {pct(peer, 99):8.2f} ms   "
          f"{total / peer_s:8.0f} POSTs/s")
    print(f"  API upload without  p50 {pct(without, 50):8.1f} ms   p99 {pct(without, 99):8.1f} ms   "
          f"mean {statistics.fmean(without):.1f} ms")
    print(f"  API upload with     p50 {pct(with_hooks, 50):8.1f} ms   p99 {pct(with_hooks, 99):8.1f} ms   "
          f"mean {statistics.fmean(with_hooks):.1f} ms")
    print(f"  ratio with/without  p50 {pct(with_hooks, 50) / pct(without, 50):.2f}x   "
          f"p99 {pct(with_hooks, 99) / pct(without, 99):.2f}x")
    print(f"  ratio deliverer/peer throughput {(total / all_done_s) / (total / peer_s):.2f}x")


if __name__ == "__main__":
    main()
