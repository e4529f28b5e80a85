"""The event streams: a job's events (replay the journal after ``Last-Event-ID``, then follow it
live), a live SCADA run's values and state, and a tenant's own stream (every job's status and progress, the
alarm counts of its runs; the overview page follows it). Every server-sent event stream is produced here, fed by the
process's fan-out hub (`appliance.jobs.fanout`).

Server-sent events: each journal row is one event whose id is its sequence number, so a client
that reconnects with ``Last-Event-ID`` misses nothing; each values sample is one event whose id is
the run's sample number; a run's ``state`` event has no id (it is the whole state, so a client that
reconnects is given the current one first and needs nothing replayed). Comments keep idle
connections alive (and let the server notice a client that has gone), and a stream ends once its
job is finished and everything has been sent.

A stream is a `StreamBody`: the WSGI server iterates it and calls ``close`` when the response ends
or the client goes away, which frees the subscription and its place in the stream limits even if
the body was never iterated.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from appliance import errors, jsonsafe
from appliance.errors import AppError
from appliance.jobs.fanout import Hub, StreamLimit, Subscription
from appliance.services import scada
from appliance.store import jobs as jobs_store
from appliance.store import scada as scada_store

RETRY_MS = 2000
END = "event: end\ndata: {}\n\n"


def format_event(seq: int, event_type: str, data: str) -> str:
    return f"id: {seq}\nevent: {event_type}\ndata: {data}\n\n"


class StreamBody:
    """The WSGI response body of one stream; ``close`` ends its subscription.

    Given the client's socket under the gevent worker, a watcher greenlet notices the client
    closing the connection and ends the stream at once, so a client that goes frees its place in
    the stream limits without waiting for the next heartbeat to fail."""

    def __init__(self, sub: Subscription, chunks: Iterator[str], client: socket.socket | None = None) -> None:
        self.sub = sub
        self._chunks = chunks
        self._watcher = _watch(client, sub) if client is not None else None

    def __iter__(self) -> StreamBody:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks).encode()

    def close(self) -> None:
        try:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()
        finally:
            self.sub.close()
            if self._watcher is not None:
                self._watcher.kill(block=False)


def _watch(client: socket.socket, sub: Subscription) -> Any:
    """A greenlet that hangs the subscription up when the client closes its connection (None when
    not running under gevent, where a stream is noticed gone at its next heartbeat instead).

    It peeks at the raw socket (a duplicate of its descriptor, so TLS sockets work too): an SSE
    client sends nothing after its request, so end of file means it has gone."""
    gevent_monkey = sys.modules.get("gevent.monkey")
    if gevent_monkey is None or not gevent_monkey.is_module_patched("socket"):
        return None
    import gevent

    def watch() -> None:
        try:
            raw = socket.socket(fileno=os.dup(client.fileno()))
        except OSError:
            sub.hang_up()
            return
        try:
            if raw.recv(1, socket.MSG_PEEK) == b"":
                sub.hang_up()
        except OSError:
            sub.hang_up()
        finally:
            raw.close()

    return gevent.spawn(watch)


def _subscribe(follow: Callable[..., Subscription], *args: Any) -> Subscription:
    """``follow(*args)`` (one of the hub's follow methods), its limits answered as 429 STREAM_LIMIT."""
    try:
        sub = follow(*args)
    except StreamLimit as exc:
        raise AppError(
            errors.STREAM_LIMIT,
            f"{'this tenant has' if exc.scope == 'tenant' else 'the appliance has'} {exc.limit} event streams open",
            headers={"Retry-After": "5"},
        ) from exc
    return sub


class Recheck:
    """The credential a stream was opened with, asked again at most every ``every_s`` seconds
    (each ask is a database read, so not at every heartbeat)."""

    def __init__(self, check: Callable[[], bool], every_s: float) -> None:
        self._check = check
        self._every_s = every_s
        self._next = time.monotonic() + every_s

    def holds(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return True
        self._next = now + self._every_s
        return self._check()


def job_stream(
    conn: sqlite3.Connection,
    hub: Hub,
    tenant_id: str,
    job_id: str,
    after_seq: int,
    heartbeat_s: float,
    client: socket.socket | None = None,
    max_seconds: float = 3600.0,
    credential: Recheck | None = None,
) -> StreamBody:
    """A job's events after ``after_seq``: the journal so far (read here, with the request's
    connection), then what the hub delivers, until the job has ended."""
    sub = _subscribe(hub.follow_job, conn, tenant_id, job_id)

    def render(row: dict[str, Any]) -> str:
        payload = json.loads(row["data"]) | {"job_id": job_id, "at": row["at"]}
        return format_event(row["seq"], row["type"], jsonsafe.dumps(payload, separators=(",", ":")))

    def backlog() -> list[dict[str, Any]]:
        return _journal(conn, job_id, after_seq, sub.live_from)

    return _body(sub, backlog, render, after_seq, heartbeat_s, max_seconds, client, credential)


def _body(
    sub: Subscription,
    backlog: Callable[[], list[dict[str, Any]]],
    render: Callable[[dict[str, Any]], str],
    last: int,
    heartbeat_s: float,
    max_seconds: float,
    client: socket.socket | None,
    credential: Recheck | None = None,
) -> StreamBody:
    """The stream's body: its backlog read now (the subscription is freed if that fails), then live."""
    try:
        rows = backlog()
    except BaseException:
        sub.close()
        raise
    return StreamBody(sub, _chunks(sub, rows, render, last, heartbeat_s, max_seconds, credential), client)


def _journal(conn: sqlite3.Connection, job_id: str, after_seq: int, upto: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        batch = [row for row in jobs_store.events_after(conn, job_id, after_seq) if row["seq"] <= upto]
        rows.extend(batch)
        if len(batch) < 500:
            return rows
        after_seq = batch[-1]["seq"]


def _chunks(
    sub: Subscription,
    rows: list[dict[str, Any]],
    render: Callable[[dict[str, Any]], str],
    last: int,
    heartbeat_s: float,
    max_seconds: float,
    credential: Recheck | None = None,
) -> Iterator[str]:
    """The stream's text: each row above ``last`` once (a row without ``seq``, a run's state, always),
    heartbeats while idle, then the end."""
    yield f"retry: {RETRY_MS}\n\n"
    deadline = time.monotonic() + max_seconds
    ended = False
    while True:
        for row in rows:
            if row["seq"] is None:
                yield render(row)
            elif row["seq"] > last:
                last = row["seq"]
                yield render(row)
        if sub.gone or sub.overflowed or (credential is not None and not credential.holds()):
            return  # no `end`: the subject goes on; the client reconnects (Last-Event-ID), or gets 401
        if ended or time.monotonic() > deadline:
            yield END
            return
        rows, ended = sub.take(heartbeat_s)
        if not rows and not ended:
            yield ": heartbeat\n\n"


def values_stream(
    conn: sqlite3.Connection,
    hub: Hub,
    tenant_id: str,
    run_id: str,
    job_id: str,
    heartbeat_s: float,
    client: socket.socket | None = None,
    max_seconds: float = 86400.0,
    credential: Recheck | None = None,
) -> StreamBody:
    """A live run's values: its state and latest sample now, then every sample published and its
    state whenever that changes (``state``: ``{status, paused_at, endpoints: {protocol: {state,
    clients}}}``, no id), until its job ends (its last state comes before the end)."""
    sub = _subscribe(hub.follow_run, conn, tenant_id, run_id, job_id)

    def render(row: dict[str, Any]) -> str:
        if row["seq"] is None:
            return f"event: state\ndata: {jsonsafe.dumps(row['data'], separators=(',', ':'))}\n\n"
        return format_event(row["seq"], "values", row["data"])

    def backlog() -> list[dict[str, Any]]:
        state = scada.stream_states(conn, [run_id]).get(run_id)
        latest = scada_store.values(conn, run_id)
        rows = [{"seq": None, "type": "state", "data": state}] if state is not None else []
        return rows + ([latest] if latest else [])

    return _body(sub, backlog, render, -1, heartbeat_s, max_seconds, client, credential)


def tenant_stream(
    conn: sqlite3.Connection,
    hub: Hub,
    tenant_id: str,
    heartbeat_s: float,
    client: socket.socket | None = None,
    max_seconds: float = 86400.0,
    credential: Recheck | None = None,
) -> StreamBody:
    """The tenant's events from now on: ``status`` and ``progress`` of any of its jobs (each with
    ``job_id`` and ``kind``; a live run's state is its job's), ``alarms`` (``{runs: {run id:
    active count}}``) when the counts change, and ``runs`` (``{runs: {run id: {paused_at,
    endpoints: {protocol: [state, clients]}}}}``) when a running run is paused or resumed or its
    endpoints' clients change. No replay and no ids: a client that reconnects reads
    the current state from a page or the API, then follows again."""
    sub = _subscribe(hub.follow_tenant, conn, tenant_id)

    def chunks() -> Iterator[str]:
        yield f"retry: {RETRY_MS}\n\n"
        deadline = time.monotonic() + max_seconds
        while not (sub.gone or sub.overflowed) and time.monotonic() < deadline:
            if credential is not None and not credential.holds():
                return
            rows, _ = sub.take(heartbeat_s)
            for row in rows:
                yield f"event: {row['type']}\ndata: {jsonsafe.dumps(row['data'], separators=(',', ':'))}\n\n"
            if not rows:
                yield ": heartbeat\n\n"

    return StreamBody(sub, chunks(), client)
