"""The deliverer: the loop that sends the outbox, in its own process (`sealforge webhooks-deliver`,
started by `sealforge serve` and by its own systemd unit), never inside a job or a request.

Each pass it leases, for every endpoint with a free lane, the deliveries that are due, and hands
them to that endpoint's own lanes: its HTTP client and a thread pool of `endpoint_concurrency`
threads. Endpoints share no thread, so a slow or dead receiver (each attempt held up to
`timeout_s`) only ever waits on its own lanes, however many such receivers there are. Outcomes
come back to the loop's thread, which alone writes to the database, several per transaction.

A lease names this process (``host:pid:start``). After a kill -9 the restarted deliverer clears
the leases of owners that no longer run and sends those deliveries again, which is why delivery is
at least once and receivers deduplicate on `webhook-id`. A lease also lapses on its own after
`timeout_s` + 30 s, for an owner on another host.
"""

from __future__ import annotations

import logging
import queue
import random
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from appliance.clock import iso
from appliance.services.webhooks import delivery
from appliance.services.webhooks.settings import Settings
from appliance.store import webhooks as webhooks_store
from appliance.store.db import transaction
from appliance.store.open import open_db
from appliance.store.owned import process_token, token_alive

log = logging.getLogger("sealforge.webhooks")
LEASE_MARGIN_S = 30.0
HOUSEKEEPING_EVERY_S = 60.0
BATCH_S = 0.02


@dataclass
class _Lanes:
    """One endpoint's way out: its connection pool and its threads."""

    client: httpx.Client
    pool: ThreadPoolExecutor


class Deliverer:
    def __init__(self, state_dir: Path, settings: Settings) -> None:
        self.state_dir = state_dir
        self.keys_dir = state_dir / "keys"
        self.settings = settings
        self.owner = process_token()
        self.rng = random.Random()
        self.results: queue.Queue[tuple[dict[str, Any], delivery.Outcome]] = queue.Queue()
        self.in_flight: dict[str, int] = {}
        self.lanes: dict[str, _Lanes] = {}
        self.tls = delivery.tls_context(settings)
        self.sent = 0
        self._housekept = 0.0

    @property
    def conn(self) -> Any:
        return open_db(self.state_dir)

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set, then let the attempts in flight finish and record them."""
        log.info("webhook deliverer %s started", self.owner)
        try:
            while not stop.is_set():
                self.step()
                self._wait(self.settings.poll_s)
        finally:
            self.close()

    def step(self) -> int:
        """Record finished attempts and lease due ones in one write transaction, then start them;
        returns how many started. What is due is read before the write lock is taken, and only if
        there is something to record or to lease is it taken, for a few statements: the API's
        writes wait on that lock, so it is held as briefly as the outcomes allow."""
        if time.monotonic() - self._housekept > HOUSEKEEPING_EVERY_S:
            self.housekeep()
        finished = self._take_finished()
        conn = self.conn
        now = time.time()
        due = self._due(conn, now)
        if not finished and not due:
            return 0
        until = now + self.settings.timeout_s + LEASE_MARGIN_S
        try:
            with transaction(conn):
                delivery.record(conn, finished, self.settings, self.rng)
                leased = webhooks_store.lease_deliveries(conn, [row["id"] for row in due], self.owner, now, until)
        except sqlite3.OperationalError as exc:  # the database stayed locked past busy_timeout: try again
            log.warning("webhook deliverer: %s; recording again at the next pass", exc)
            for item in finished:
                self.results.put(item)
            return 0
        for row, _ in finished:
            self.in_flight[row["endpoint_id"]] -= 1
        self.sent += len(finished)
        started = [row for row in due if row["id"] in leased]
        for row in started:
            self._start(row)
        return len(started)

    def housekeep(self) -> None:
        """Free the leases of deliverers that died, and drop the log of long-finished deliveries."""
        self._housekept = time.monotonic()
        conn = self.conn
        with transaction(conn):
            for owner in webhooks_store.lease_owners(conn):
                if owner != self.owner and not token_alive(owner):
                    freed = webhooks_store.clear_leases(conn, owner)
                    log.info("webhook deliveries leased by %s (no longer running) are due again: %d", owner, freed)
            if self.settings.keep_days > 0:
                webhooks_store.prune(conn, iso(time.time() - self.settings.keep_days * 86400))
            live = set(webhooks_store.deliverable_endpoint_ids(conn))
        for endpoint_id in [e for e in self.lanes if e not in live and not self.in_flight.get(e)]:
            lanes = self.lanes.pop(endpoint_id)  # deleted or disabled, nothing in flight: free its threads
            lanes.pool.shutdown(wait=False)
            lanes.client.close()

    def close(self) -> None:
        for lanes in self.lanes.values():
            lanes.pool.shutdown(wait=True)
        finished = self._take_finished()
        with transaction(self.conn):
            delivery.record(self.conn, finished, self.settings, self.rng)
            webhooks_store.clear_leases(self.conn, self.owner)
        self.sent += len(finished)
        for lanes in self.lanes.values():
            lanes.client.close()
        self.lanes.clear()
        log.info("webhook deliverer %s stopped after %d attempts", self.owner, self.sent)

    def _wait(self, seconds: float) -> None:
        """Sleep until an attempt finishes or ``seconds`` pass, whichever comes first; after a
        finish, a moment more (`BATCH_S`), so outcomes arriving together share one transaction."""
        try:
            item = self.results.get(timeout=seconds)
        except queue.Empty:
            return
        self.results.put(item)
        time.sleep(BATCH_S)

    def _take_finished(self) -> list[tuple[dict[str, Any], delivery.Outcome]]:
        finished: list[tuple[dict[str, Any], delivery.Outcome]] = []
        while True:
            try:
                finished.append(self.results.get_nowait())
            except queue.Empty:
                return finished

    def _due(self, conn: Any, now: float) -> list[dict[str, Any]]:
        """The due deliveries of each deliverable endpoint, as many as it has free lanes (a read)."""
        lanes = self.settings.endpoint_concurrency
        due: list[dict[str, Any]] = []
        if not webhooks_store.any_due(conn, now):
            return due
        for endpoint_id in webhooks_store.deliverable_endpoint_ids(conn):
            free = lanes - self.in_flight.get(endpoint_id, 0)
            if free > 0:
                due += webhooks_store.due_deliveries(conn, endpoint_id, now, free)
        return due

    def _start(self, row: dict[str, Any]) -> None:
        endpoint_id = row["endpoint_id"]
        self.in_flight[endpoint_id] = self.in_flight.get(endpoint_id, 0) + 1
        lanes = self.lanes.get(endpoint_id)
        if lanes is None:
            lanes = self.lanes[endpoint_id] = _Lanes(
                delivery.new_client(self.settings, self.tls),
                ThreadPoolExecutor(self.settings.endpoint_concurrency, thread_name_prefix=f"webhook-{endpoint_id}"),
            )
        lanes.pool.submit(self._send, lanes.client, row)

    def _send(self, client: httpx.Client, row: dict[str, Any]) -> None:
        try:
            outcome = delivery.attempt(client, self.keys_dir, row, self.settings)
        except Exception as exc:  # attempt catches what sending raises; anything else is a bug, logged
            log.exception("webhook delivery %s", row["id"])
            outcome = delivery.Outcome(iso(time.time()), None, 0.0, f"internal error: {type(exc).__name__}", "")
        self.results.put((row, outcome))
