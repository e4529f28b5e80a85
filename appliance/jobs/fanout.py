"""Fan-out for the event streams: one poller per API process feeds every open stream.

Why: each open stream used to poll the database on its own connection every 200 ms and hold a
request thread while it waited. Now a stream is a *subscription*. The process's one poller reads
the job-journal rows and live-value samples written since its last look (both tables have an
increasing id, so each is one range read on the key, however many streams are open) and hands each
row to the subscriptions that follow its job or run. A subscription waits on its own condition;
under the API's gevent worker the poller and every stream are greenlets, so an open stream costs
no thread (docs/decisions.md, "Streams on gevent").

Nothing lost, nothing twice: a subscription is registered under the hub lock together with the
poller's position at that moment (``live_from``). Rows after that position reach it from the poller;
what it needs from before (a job's journal after ``Last-Event-ID``, a run's latest sample) the
caller reads once from the database (`appliance.jobs.events`), and the stream skips anything at or
below the last sequence number it sent. The poller reads job statuses before rows, so when it sees
a job ended, the rows of that same pass are its last, and the subscription then gets its end.

A tenant-wide subscription (`follow_tenant`, the overview's stream) gets, from the same pass, the
status and progress rows of every job of its tenant, and, at most once a second, the tenant's count
of active alarms per run whenever it has changed, and its live runs' states (paused or not, and the
clients each endpoint has connected) whenever they have changed. It has no end: it lasts until its
client goes.

A run's subscription (a values stream) gets, besides its samples, the run's *state* (its status,
``paused_at``, each endpoint's state and clients: `appliance.services.scada.stream_states`) whenever
it has changed, looked at for every followed run in one read at most every ``STATES_EVERY_S``, and
always in the pass that sees the run's job end, so its last state comes before its end. So an open
live-plant page follows a pause, a resume, a stop or a client made by anyone without a request of
its own. The hub remembers the last state each followed run's streams were given; a new stream
reads the current one itself (`appliance.jobs.events.values_stream`), after subscribing, so a change
in between reaches it at least once (a state sent twice is harmless: it is the whole state).

Limits: the hub counts open subscriptions in all and per tenant; over a limit `subscribe` raises
`StreamLimit` (the API answers 429). A reader too slow to take what was delivered (more than
``MAX_QUEUED`` rows waiting) is ended; its client reconnects with ``Last-Event-ID`` and loses nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.jobs.lifecycle import TERMINAL
from appliance.services import scada as scada_service
from appliance.store import jobs as jobs_store
from appliance.store import scada as scada_store
from appliance.store import scada_alarms as scada_alarms_store
from appliance.store.db import db_path, open_connection

log = logging.getLogger("sealforge.streams")

MAX_QUEUED = 5000
READ_LIMIT = 5000  # rows per table per pass; a fuller pass is followed at once by another
TENANT_TYPES = frozenset({"status", "progress"})  # journal rows a tenant-wide stream carries (not logs)
ALARMS_EVERY_S = 1.0  # how often the poller looks at the alarm counts of tenants with a tenant stream
STATES_EVERY_S = 0.5  # how often it looks at the states of runs with a values stream


class StreamLimit(Exception):
    """Too many open streams, in all (``scope`` "total") or for one tenant ("tenant")."""

    def __init__(self, scope: str, limit: int) -> None:
        super().__init__(f"{scope} stream limit {limit} reached")
        self.scope = scope
        self.limit = limit


@dataclass(frozen=True)
class Limits:
    """Open streams allowed in this process, in all and per tenant."""

    total: int
    per_tenant: int


class Subscription:
    """One open stream: rows delivered and not yet taken, and whether the subject has ended."""

    def __init__(
        self, hub: Hub, tenant_id: str, job_id: str, run_id: str | None, live_from: int, tenant_wide: bool = False
    ) -> None:
        self.hub = hub
        self.tenant_wide = tenant_wide
        self.tenant_id = tenant_id
        self.job_id = job_id
        self.run_id = run_id
        self.live_from = live_from
        self.overflowed = False
        self.gone = False
        self._rows: deque[dict[str, Any]] = deque()
        self._ended = False
        self._closed = False
        self._cond = threading.Condition()

    def deliver(self, rows: list[dict[str, Any]], end: bool) -> None:
        """Called by the poller (under the hub lock)."""
        with self._cond:
            if len(self._rows) + len(rows) > MAX_QUEUED:
                self._rows.clear()
                self.overflowed = end = True
            else:
                self._rows.extend(rows)
            self._ended = self._ended or end
            self._cond.notify_all()

    def take(self, timeout: float) -> tuple[list[dict[str, Any]], bool]:
        """The rows delivered since the last take (waiting up to ``timeout`` for one), and whether
        the subject has ended with them."""
        with self._cond:
            if not self._rows and not self._ended:
                self._cond.wait(timeout)
            rows = list(self._rows)
            self._rows.clear()
            return rows, self._ended

    def hang_up(self) -> None:
        """The client has gone: end the stream now (not at its next heartbeat) and free its place."""
        with self._cond:
            self.gone = self._ended = True
            self._cond.notify_all()
        self.close()

    def close(self) -> None:
        """Idempotent; frees the stream's place in the limits."""
        if not self._closed:
            self._closed = True
            self.hub.unsubscribe(self)


class Hub:
    """The subscriptions of one API process to one state dir, and the poller that feeds them."""

    def __init__(self, state_dir: Path, limits: Limits, poll_s: float = 0.1) -> None:
        self.state_dir = state_dir
        self.limits = limits
        self.poll_s = poll_s
        self._lock = threading.Lock()
        self._by_job: dict[str, set[Subscription]] = {}
        self._by_run: dict[str, set[Subscription]] = {}
        self._by_tenant: dict[str, set[Subscription]] = {}
        self._alarm_counts: dict[str, dict[str, int]] = {}
        self._run_states: dict[str, dict[str, Any]] = {}
        self._states: dict[str, dict[str, Any]] = {}  # per followed run: the last state its streams got
        self._alarms_at = 0.0
        self._states_at = 0.0
        self._tenants: Counter[str] = Counter()
        self._open = 0
        self._journal_seq: int | None = None
        self._sample_id: int | None = None
        self._poller: threading.Thread | None = None

    # -- subscribing -------------------------------------------------------------------------------

    def follow_job(self, conn: Any, tenant_id: str, job_id: str) -> Subscription:
        return self._subscribe(conn, tenant_id, job_id, None)

    def follow_run(self, conn: Any, tenant_id: str, run_id: str, job_id: str) -> Subscription:
        """The run's samples, and its state when it changes."""
        state = scada_service.stream_states(conn, [run_id]).get(run_id)
        # Recorded before the subscription exists: a poll between the two would otherwise find a
        # followed run with no recorded state and send the state the stream's backlog already sent.
        with self._lock:
            if state is not None:
                self._states.setdefault(run_id, state)
        try:
            return self._subscribe(conn, tenant_id, job_id, run_id)
        except BaseException:
            with self._lock:
                if run_id not in self._by_run:
                    self._states.pop(run_id, None)
            raise

    def follow_tenant(self, conn: Any, tenant_id: str) -> Subscription:
        """Every job's status and progress in the tenant, and its alarm counts and live runs' states
        when they change."""
        counts = scada_alarms_store.active_counts(conn, tenant_id)
        states = scada_store.live_states(conn, tenant_id)
        sub = self._subscribe(conn, tenant_id, "", None, tenant_wide=True)
        with self._lock:
            self._alarm_counts.setdefault(tenant_id, counts)
            self._run_states.setdefault(tenant_id, states)
        return sub

    def _subscribe(
        self, conn: Any, tenant_id: str, job_id: str, run_id: str | None, tenant_wide: bool = False
    ) -> Subscription:
        with self._lock:
            if self._open >= self.limits.total:
                raise StreamLimit("total", self.limits.total)
            if self._tenants[tenant_id] >= self.limits.per_tenant:
                raise StreamLimit("tenant", self.limits.per_tenant)
            if self._journal_seq is None or self._sample_id is None:
                self._journal_seq = jobs_store.last_event_seq(conn)
                self._sample_id = scada_store.last_sample_id(conn)
            live_from = self._journal_seq if run_id is None else self._sample_id
            sub = Subscription(self, tenant_id, job_id, run_id, live_from, tenant_wide)
            if tenant_wide:
                self._by_tenant.setdefault(tenant_id, set()).add(sub)
            elif run_id is None:
                self._by_job.setdefault(job_id, set()).add(sub)
            else:
                self._by_run.setdefault(run_id, set()).add(sub)
            self._open += 1
            self._tenants[tenant_id] += 1
            if self._poller is None:
                self._poller = threading.Thread(target=self._poll_loop, name="sealforge-streams", daemon=True)
                self._poller.start()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub.tenant_wide:
                followers, subject = self._by_tenant, sub.tenant_id
            elif sub.run_id is None:
                followers, subject = self._by_job, sub.job_id
            else:
                followers, subject = self._by_run, sub.run_id
            group = followers.get(subject)
            if group is not None:
                group.discard(sub)
                if not group:
                    del followers[subject]
                    if sub.tenant_wide:
                        self._alarm_counts.pop(subject, None)
                        self._run_states.pop(subject, None)
                    elif sub.run_id is not None:
                        self._states.pop(subject, None)
            self._open -= 1
            self._tenants[sub.tenant_id] -= 1
            if self._tenants[sub.tenant_id] <= 0:
                del self._tenants[sub.tenant_id]

    def open_streams(self) -> dict[str, int]:
        """Counts for /metrics: open streams, and the subjects they follow."""
        with self._lock:
            return {"open": self._open, "jobs": len(self._by_job), "runs": len(self._by_run)}

    # -- the poller ----------------------------------------------------------------------------------

    def _poll_loop(self) -> None:
        conn = open_connection(db_path(self.state_dir))
        try:
            while True:
                with self._lock:
                    if self._open == 0:
                        self._poller = None  # a later subscription starts a new poller
                        return
                try:
                    full = self._poll_once(conn)
                except Exception:
                    log.exception("event stream poll failed; trying again")
                    full = False
                if not full:
                    time.sleep(self.poll_s)
        finally:
            conn.close()

    def _poll_once(self, conn: Any) -> bool:
        """One pass; True when a table gave a full read (more is waiting)."""
        with self._lock:
            run_jobs = {run_id: next(iter(subs)).job_id for run_id, subs in self._by_run.items() if subs}
            followed = sorted(set(self._by_job) | set(run_jobs.values()))
            journal_seq, sample_id = self._journal_seq or 0, self._sample_id or 0
            tenants = set(self._by_tenant)
        statuses = jobs_store.statuses(conn, followed) if followed else {}
        rows = jobs_store.journal_since(conn, journal_seq, READ_LIMIT)
        samples = scada_store.samples_since(conn, sample_id, READ_LIMIT)
        ended = {job_id for job_id in followed if statuses.get(job_id, "canceled") in TERMINAL}
        full = len(rows) == READ_LIMIT or len(samples) == READ_LIMIT
        tenant_rows = self._tenant_rows(conn, tenants, rows) if tenants else []
        ended_runs = {run_id for run_id, job_id in run_jobs.items() if job_id in ended}
        states = self._state_rows(conn, set(run_jobs), ended_runs)
        with self._lock:
            self._deliver(self._by_tenant, tenant_rows, "tenant_id", set())
            self._deliver(self._by_job, rows, "job_id", ended if not full else set())
            self._deliver(self._by_run, samples + states, "run_id", ended_runs if not full else set())
            if rows:
                self._journal_seq = int(rows[-1]["seq"])
            if samples:
                self._sample_id = int(samples[-1]["id"])
        return full

    @staticmethod
    def _deliver(
        followers: dict[str, set[Subscription]], rows: list[dict[str, Any]], key: str, ended: set[str]
    ) -> None:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            if row[key] in followers:
                grouped.setdefault(row[key], []).append(row)
        for subject in set(grouped) | (ended & set(followers)):
            for sub in list(followers[subject]):
                sub.deliver(grouped.get(subject, []), subject in ended)

    def _state_rows(self, conn: Any, runs: set[str], ended: set[str]) -> list[dict[str, Any]]:
        """A ``state`` row (no ``seq``) for each followed run whose state has changed: every run when
        due, else only the runs whose job ended in this pass."""
        now = time.monotonic()
        due = now - self._states_at >= STATES_EVERY_S
        wanted = sorted(runs if due else ended)
        if due:
            self._states_at = now
        if not wanted:
            return []
        states = scada_service.stream_states(conn, wanted)
        out: list[dict[str, Any]] = []
        with self._lock:
            for run_id in wanted:
                state = states.get(run_id)
                if state is not None and run_id in self._by_run and self._states.get(run_id) != state:
                    self._states[run_id] = state
                    out.append({"run_id": run_id, "type": "state", "seq": None, "data": state})
        return out

    def _tenant_rows(self, conn: Any, tenants: set[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """What this pass gives the tenant-wide streams, each row with its ``tenant_id``:
        status and progress rows of their tenants' jobs, and alarm counts and run states that have changed."""
        wanted = [row for row in rows if row["type"] in TENANT_TYPES]
        owners = jobs_store.owners(conn, sorted({row["job_id"] for row in wanted})) if wanted else {}
        out: list[dict[str, Any]] = []
        for row in wanted:
            owner = owners.get(row["job_id"])
            if owner is not None and owner["tenant_id"] in tenants:
                data = json.loads(row["data"]) | {"job_id": row["job_id"], "kind": owner["kind"], "at": row["at"]}
                out.append({"tenant_id": owner["tenant_id"], "type": row["type"], "data": data})
        now = time.monotonic()
        if now - self._alarms_at >= ALARMS_EVERY_S:
            self._alarms_at = now
            for tenant_id in sorted(tenants):
                counts = scada_alarms_store.active_counts(conn, tenant_id)
                with self._lock:
                    changed = tenant_id in self._alarm_counts and self._alarm_counts[tenant_id] != counts
                    if tenant_id in self._by_tenant:
                        self._alarm_counts[tenant_id] = counts
                if changed:
                    out.append({"tenant_id": tenant_id, "type": "alarms", "data": {"runs": counts}})
                states = scada_store.live_states(conn, tenant_id)
                with self._lock:
                    moved = tenant_id in self._run_states and self._run_states[tenant_id] != states
                    if tenant_id in self._by_tenant:
                        self._run_states[tenant_id] = states
                if moved:
                    out.append({"tenant_id": tenant_id, "type": "runs", "data": {"runs": states}})
        return out
