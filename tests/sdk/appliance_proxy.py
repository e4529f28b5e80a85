"""A real appliance on loopback (API subprocess + workers) and a small HTTP proxy in front of it
that misbehaves on cue, for the SDK tests: answers 503/429 before forwarding, or cuts a body.

The proxy is a real HTTP server on its own port; every request it sees is recorded with its
headers, so a test can check what the client sent on each attempt.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from tests.conftest import forget_worker_log, spawn_worker, stop_worker
from tests.live_appliance import api_process, tenant_with_key

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


@dataclass
class Appliance:
    url: str
    key: str
    state_dir: Path


@contextmanager
def running_appliance(workdir: Path, queues: tuple[str, ...] = ("default", "interactive")) -> Iterator[Appliance]:
    """`sealforge api` and one `sealforge worker` per queue in ``queues``, on a fresh state dir."""

    state = workdir / "var"
    _, key = tenant_with_key(state, "acme", ["generate"])
    env = {"SEALFORGE_RATELIMIT_ENABLED": "false"}
    with api_process(state, workdir / "api.log", env) as server:
        workers = [(spawn_worker(state, workdir / f"worker-{q}.log", q), workdir / f"worker-{q}.log") for q in queues]
        try:
            yield Appliance(server.url, key, state)
        finally:
            for proc, worker_log in workers:
                stop_worker(proc)
                forget_worker_log(worker_log)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    answered: str  # "forwarded", "503", "429" or "cut"
    status: int = 0  # the status line the client got


@dataclass
class Proxy:
    """Forwards to ``upstream``; ``faults`` maps a path fragment to the misbehaviours to play, in
    order, on the requests whose path contains it (then it forwards them)."""

    upstream: str
    faults: dict[str, list[str]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault_for(self, path: str) -> str | None:
        with self.lock:
            for fragment, actions in self.faults.items():
                if fragment in path and actions:
                    return actions.pop(0)
        return None

    def requests_to(self, fragment: str) -> list[Seen]:
        return [s for s in self.seen if fragment in s.path]


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: object) -> None:
            pass

        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fault = proxy.fault_for(self.path)
            seen = Seen(self.command, self.path, dict(self.headers.items()), fault or "forwarded")
            proxy.seen.append(seen)
            if fault in ("503", "429"):
                payload = b'{"error": {"code": "UNAVAILABLE", "message": "try again"}}'
                seen.status = int(fault)
                self.send_response(seen.status)
                self.send_header("Retry-After", "0")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream = httpx.request(
                self.command, proxy.upstream + self.path, headers=headers, content=body, timeout=60
            )
            seen.status = upstream.status_code
            self.send_response(upstream.status_code)
            for name, value in upstream.headers.items():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-encoding":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(upstream.content)))
            self.end_headers()
            if fault == "cut":  # the whole length announced, half of it sent, then the connection closed
                self.wfile.write(upstream.content[: len(upstream.content) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(upstream.content)

        do_GET = do_POST = do_DELETE = _any

    return Handler


@contextmanager
def running_proxy(upstream: str, faults: dict[str, list[str]] | None = None) -> Iterator[Proxy]:
    proxy = Proxy(upstream, faults or {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
