"""Event streams served by the real API process (gunicorn, one gevent worker) over loopback.

An open stream must not hold a request thread: with more streams open than the old thread pool
had threads (2 × 8), requests are still answered and every stream still gets its events. Beyond
the stream limit a new stream gets 429 in the error envelope. Clients that connect and go leave
nothing behind in the worker: no stream, greenlet, thread or file descriptor (DB connections and
sockets are file descriptors)."""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from appliance.cli.release import release
from appliance.store.open import open_db
from tests.conftest import mock_schema
from tests.live_appliance import ApiProcess, api_process, tenant_with_key

STREAMS = 40  # more than the 16 request threads the API had before it served streams on gevent
PER_TENANT = 60


@dataclass
class Api:
    url: str
    key: str
    other_key: str
    proc: subprocess.Popen[bytes]

    def worker_pid(self) -> int:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        assert len(children) == 1, children
        return int(children[0])

    def metrics(self) -> dict[str, float]:
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        return {
            line.split()[0]: float(line.split()[1])
            for line in text.splitlines()
            if line and not line.startswith("#") and "{" not in line
        }


ENV = {
    "SEALFORGE_STREAMS_PER_TENANT": str(PER_TENANT),
    "SEALFORGE_STREAMS_HEARTBEAT_S": "1",
    "SEALFORGE_STREAMS_RECHECK_S": "1",
    "SEALFORGE_RATELIMIT_ENABLED": "false",
}


@contextmanager
def _serving(folder: Path) -> Iterator[tuple[Path, ApiProcess]]:
    state = folder / "var"
    open_db(state)  # made and migrated before the server opens it
    release(state)
    with api_process(state, folder / "api.log", ENV) as server:
        yield state, server


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ApiProcess]]:
    """One API process for the tests whose limits and counts are per tenant."""
    with _serving(tmp_path_factory.mktemp("streams")) as served:
        yield served


_TENANTS = itertools.count()


def _tenants_on(state: Path, server: ApiProcess) -> Api:
    """Two tenants of their own (stream allowances and job lists are per tenant) on ``server``."""
    n = next(_TENANTS)
    _, key = tenant_with_key(state, f"acme-{n}", ["generate"])
    _, other_key = tenant_with_key(state, f"globex-{n}", ["generate"])
    return Api(server.url, key, other_key, server.proc)


@pytest.fixture
def api(shared_server: tuple[Path, ApiProcess]) -> Api:
    """Fresh tenants on the module's server, once the streams of the tests before have closed."""
    api = _tenants_on(*shared_server)
    _wait_until(lambda: api.metrics()["sealforge_api_streams_open"] == 0)
    return api


@pytest.fixture
def own_api(tmp_path: Path) -> Iterator[Api]:
    """A server of the test's own, for a test that compares the worker's descriptors before and after
    (the tests before would leave pooled connections that close while it measures)."""
    with _serving(tmp_path) as served:
        yield _tenants_on(*served)


@dataclass
class Reader:
    """A thread reading one event stream to its end; keeps the event names it saw."""

    url: str
    headers: dict[str, str]
    status: int = 0
    events: list[str] = field(default_factory=list)
    opened: threading.Event = field(default_factory=threading.Event)
    error: str = ""

    def run(self) -> None:
        try:
            with httpx.stream("GET", self.url, headers=self.headers, timeout=60) as response:
                self.status = response.status_code
                self.opened.set()
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        self.events.append(line[len("event: ") :])
        except Exception as exc:  # reported by the test, with the stream it happened on
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.opened.set()


def _submit(api: Api, key: str) -> str:
    body = {"kind": "mock", "params": {"schema": mock_schema(10)}}
    response = httpx.post(f"{api.url}/v1/jobs", json=body, headers={"X-API-Key": key}, timeout=10)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


def test_more_streams_than_threads_and_requests_still_answer(api: Api) -> None:
    """No worker runs: the jobs stay queued and their streams idle until the jobs are canceled."""
    headers = {"X-API-Key": api.key}
    jobs = [_submit(api, api.key) for _ in range(4)]
    readers = [Reader(f"{api.url}/v1/jobs/{jobs[i % 4]}/events", headers) for i in range(STREAMS)]
    threads = [threading.Thread(target=reader.run, daemon=True) for reader in readers]
    for thread in threads:
        thread.start()
    for reader in readers:
        assert reader.opened.wait(30) and reader.status == 200, (reader.status, reader.error)
    assert api.metrics()["sealforge_api_streams_open"] == STREAMS

    for _ in range(20):  # every request answered while all streams are open
        assert httpx.get(f"{api.url}/healthz", timeout=5).status_code == 200
        listed = httpx.get(f"{api.url}/v1/jobs", headers=headers, timeout=5)
        assert listed.status_code == 200 and listed.json()["count"] == 4

    for job_id in jobs:
        assert httpx.post(f"{api.url}/v1/jobs/{job_id}/cancel", headers=headers, timeout=5).status_code == 200
    for thread in threads:
        thread.join(30)
    for reader in readers:
        assert not reader.error, reader.error
        assert reader.events.count("status") >= 3 and reader.events[-1] == "end", reader.events
    _wait_until(lambda: api.metrics()["sealforge_api_streams_open"] == 0)


def test_streams_beyond_the_tenant_limit_get_429_in_the_envelope(api: Api) -> None:
    headers = {"X-API-Key": api.key}
    job_id = _submit(api, api.key)
    url = f"{api.url}/v1/jobs/{job_id}/events"
    readers = [Reader(url, headers) for _ in range(PER_TENANT)]
    threads = [threading.Thread(target=reader.run, daemon=True) for reader in readers]
    for thread in threads:
        thread.start()
    for reader in readers:
        assert reader.opened.wait(30) and reader.status == 200, (reader.status, reader.error)

    refused = httpx.get(url, headers=headers, timeout=10)
    assert refused.status_code == 429 and refused.headers["Retry-After"].isdigit()
    error = refused.json()["error"]
    assert error["code"] == "STREAM_LIMIT" and error["status"] == 429 and error["correlation_id"]
    other_job = _submit(api, api.other_key)  # another tenant has its own allowance
    with httpx.stream("GET", f"{api.url}/v1/jobs/{other_job}/events", headers={"X-API-Key": api.other_key}) as ok:
        assert ok.status_code == 200

    assert httpx.post(f"{api.url}/v1/jobs/{job_id}/cancel", headers=headers, timeout=5).status_code == 200
    for thread in threads:
        thread.join(30)
    _wait_until(lambda: api.metrics()["sealforge_api_streams_open"] == 0)
    with httpx.stream("GET", url, headers=headers, timeout=10) as again:  # the places are free again
        assert again.status_code == 200


def _connect_and_leave(api: Api, path: str) -> None:
    host, port = api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {api.key}\r\n\r\n".encode())
        seen = b""
        while b"retry:" not in seen:
            chunk = sock.recv(4096)
            assert chunk, seen
            seen += chunk
        assert seen.startswith(b"HTTP/1.1 200"), seen[:200]


def _fd_targets(api: Api) -> list[str]:
    pid = api.worker_pid()
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return sorted(targets)


def _holdings(api: Api) -> dict[str, float]:
    pid = api.worker_pid()
    metrics = api.metrics()
    return {
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": metrics["sealforge_api_threads"],
        "greenlets": metrics["sealforge_api_greenlets"],
        "streams": metrics["sealforge_api_streams_open"],
    }


@pytest.mark.heavy
def test_a_thousand_clients_that_leave_leave_nothing_behind(own_api: Api) -> None:
    api = own_api
    job_id = _submit(api, api.key)  # queued for good: its stream only ever sends heartbeats
    path = f"/v1/jobs/{job_id}/events"
    for _ in range(20):  # warm up: first-use imports, the poller's first start, lazily opened files
        _connect_and_leave(api, path)
    _wait_until(lambda: _holdings(api)["streams"] == 0)
    before = _holdings(api)
    fds_before = _fd_targets(api)

    for _ in range(1000):
        _connect_and_leave(api, path)

    _wait_until(lambda: _holdings(api)["streams"] == 0)  # each gone client is noticed as it goes
    seen: list[dict[str, float]] = []
    _wait_until(
        lambda: seen.append(_holdings(api)) or seen[-1] == before,
        message=lambda: f"{before} -> {seen[-1]}; new descriptors: {_new(fds_before, _fd_targets(api))}",
    )


def _new(before: list[str], after: list[str]) -> list[str]:
    return list((Counter(after) - Counter(before)).elements())


def _wait_until(check: Any, timeout: float = 30.0, message: Any = None) -> Any:
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(0.2)
        value = check()
    assert value, message() if message else "condition not met in time"
    return value


def test_a_stream_on_a_finished_job_sends_its_journal_and_ends(api: Api) -> None:
    """A stream on something already finished sends its backlog and its end, then closes."""
    headers = {"X-API-Key": api.key}
    job_id = _submit(api, api.key)
    assert httpx.post(f"{api.url}/v1/jobs/{job_id}/cancel", headers=headers, timeout=5).status_code == 200
    text = httpx.get(f"{api.url}/v1/jobs/{job_id}/events", headers=headers, timeout=10).text
    names = [line[len("event: ") :] for line in text.splitlines() if line.startswith("event: ")]
    payloads = [json.loads(line[len("data: ") :]) for line in text.splitlines() if line.startswith("data: ")]
    assert names[-1] == "end" and payloads[-2]["status"] == "canceled", text


def test_the_tenant_stream_carries_its_own_jobs_changes_only(api: Api) -> None:
    """GET /v1/events (the overview's stream): a job submitted and canceled after it opened shows
    as `status` events with its id and kind; another tenant's job does not appear."""
    lines: list[str] = []
    opened = threading.Event()

    def read() -> None:
        with httpx.stream("GET", f"{api.url}/v1/events", headers={"X-API-Key": api.key}, timeout=30) as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            opened.set()
            for line in response.iter_lines():
                lines.append(line)
                if '"status":"canceled"' in line:
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert opened.wait(10)
    _wait_until(lambda: api.metrics()["sealforge_api_streams_open"] == 1)
    other = _submit(api, api.other_key)
    job_id = _submit(api, api.key)
    canceled = httpx.post(f"{api.url}/v1/jobs/{job_id}/cancel", headers={"X-API-Key": api.key}, timeout=5)
    assert canceled.status_code == 200
    reader.join(20)
    assert not reader.is_alive(), lines
    events = [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]
    assert {e["job_id"] for e in events} == {job_id}, events
    assert [e["status"] for e in events if "status" in e][-1] == "canceled"
    assert all(e["kind"] == "mock" for e in events)
    assert other not in "".join(lines)


def test_the_tenant_stream_needs_a_credential(api: Api) -> None:
    answer = httpx.get(f"{api.url}/v1/events", timeout=10)
    assert answer.status_code == 401 and answer.json()["error"]["code"], answer.text


def test_streams_end_when_their_key_is_revoked(shared_server: tuple[Path, ApiProcess]) -> None:
    """A job stream and the tenant stream opened with a key close within a recheck of the key's
    revocation (not at their day-long limit), and reopening them is refused with 401."""
    state, server = shared_server
    _, admin_key = tenant_with_key(state, f"revoked-{next(_TENANTS)}", ["admin", "generate"])
    headers = {"X-API-Key": admin_key}
    job_id = _submit(Api(server.url, admin_key, admin_key, server.proc), admin_key)  # queued for good
    readers = [Reader(f"{server.url}{path}", headers) for path in (f"/v1/jobs/{job_id}/events", "/v1/events")]
    threads = [threading.Thread(target=reader.run, daemon=True) for reader in readers]
    for thread in threads:
        thread.start()
    assert all(reader.opened.wait(30) and reader.status == 200 for reader in readers), readers

    key_id = httpx.get(f"{server.url}/v1/keys", headers=headers, timeout=10).json()["data"][0]["id"]
    assert httpx.delete(f"{server.url}/v1/keys/{key_id}", headers=headers, timeout=10).status_code == 200
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "a stream outlived its revoked key"
    assert all(reader.error == "" and "end" not in reader.events for reader in readers), readers
    again = httpx.get(f"{server.url}/v1/events", headers=headers, timeout=10)
    assert again.status_code == 401 and again.json()["error"]["code"] == "UNAUTHENTICATED"
