"""The event streams: a job's events (replay the journal after ``Last-Event-ID``, then follow it live)
and a live SCADA run's latest values. Every server-sent event stream is produced here.

Server-sent events: each journal row is one event whose id is its sequence number, so a client
that reconnects with ``Last-Event-ID`` misses nothing. Comments keep idle connections alive, and
the stream ends once the job is finished and everything has been sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

from appliance import jsonsafe
from appliance.jobs.lifecycle import TERMINAL
from appliance.store import jobs as jobs_store
from appliance.store import scada as scada_store
from appliance.store.open import open_db

POLL_S = 0.2
VALUES_POLL_S = 0.25


def format_event(seq: int, event_type: str, data: str) -> str:
    return f"id: {seq}\nevent: {event_type}\ndata: {data}\n\n"


def stream(
    state_dir: Path, job_id: str, after_seq: int, heartbeat_s: float = 15.0, max_seconds: float = 3600.0
) -> Iterator[str]:
    conn = open_db(state_dir)
    last_beat = time.monotonic()
    started = last_beat
    yield "retry: 2000\n\n"
    while True:
        job = jobs_store.get_job(conn, job_id)  # read before the events, so a finish in between is still sent
        finished = job is None or job["status"] in TERMINAL
        rows = jobs_store.events_after(conn, job_id, after_seq)
        for row in rows:
            after_seq = row["seq"]
            payload = json.loads(row["data"]) | {"job_id": job_id, "at": row["at"]}
            yield format_event(row["seq"], row["type"], jsonsafe.dumps(payload, separators=(",", ":")))
        if rows:
            last_beat = time.monotonic()
            continue
        if finished or time.monotonic() - started > max_seconds:
            yield "event: end\ndata: {}\n\n"
            return
        if time.monotonic() - last_beat >= heartbeat_s:
            last_beat = time.monotonic()
            yield ": heartbeat\n\n"
        time.sleep(POLL_S)


def values_stream(state_dir: Path, run_id: str, job_id: str) -> Iterator[str]:
    """A live run's tag values, each new sample once, until its job has ended."""
    conn = open_db(state_dir)
    seen = -1
    yield "retry: 2000\n\n"
    while True:
        job = jobs_store.get_job(conn, job_id)
        row = scada_store.values(conn, run_id)
        if row is not None and row["seq"] != seen:
            seen = row["seq"]
            yield format_event(seen, "values", row["data"])
        if job is None or job["status"] in TERMINAL:
            yield "event: end\ndata: {}\n\n"
            return
        time.sleep(VALUES_POLL_S)
