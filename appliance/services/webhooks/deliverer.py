"""The deliverer: the loop that sends the outbox, in its own process (`sealforge webhooks-deliver`,
started by `sealforge serve` and by its own systemd unit), never inside a job or a request.

Each pass it leases, for every endpoint with a free lane, the deliveries that are due, and hands
them to a thread pool; an endpoint never has more than `endpoint_concurrency` attempts in flight,
so a slow or dead receiver holds at most that many threads (for at most `timeout_s` each) and
every other endpoint keeps its own lanes. Outcomes come back to the loop's thread, which alone
writes to the database, several outcomes per transaction.

A lease names this process (``host:pid:start``). After a kill -9 the restarted deliverer clears
the leases of owners that no longer run and sends those deliveries again, which is why delivery is
at least once and receivers deduplicate on `webhook-id`. A lease also lapses on its own after
`timeout_s` + 30 s, for an owner on another host.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
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


class Deliverer:
    def __init__(self, state_dir: Path, settings: Settings) -> None:
        self.state_dir = state_dir
        self.keys_dir = state_dir / "keys"
        self.settings = settings
        self.owner = process_token()
        self.rng = random.Random()
        self.pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="webhook")
        self.results: queue.Queue[tuple[dict[str, Any], delivery.Outcome]] = queue.Queue()
        self.in_flight: dict[str, int] = {}
        self.clients: dict[str, httpx.Client] = {}
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
        """Record finished attempts, housekeep when due, lease and start due ones; returns how many started."""
        self._record_finished()
        if time.monotonic() - self._housekept > HOUSEKEEPING_EVERY_S:
            self.housekeep()
        return self._start_due()

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

    def idle(self) -> bool:
        return not any(self.in_flight.values()) and self.results.empty()

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self._record_finished()
        with transaction(self.conn):
            webhooks_store.clear_leases(self.conn, self.owner)
        for client in self.clients.values():
            client.close()
        self.clients.clear()
        log.info("webhook deliverer %s stopped after %d attempts", self.owner, self.sent)

    def _wait(self, seconds: float) -> None:
        """Sleep until an attempt finishes or ``seconds`` pass, whichever comes first."""
        try:
            item = self.results.get(timeout=seconds)
        except queue.Empty:
            return
        self.results.put(item)

    def _record_finished(self) -> None:
        finished: list[tuple[dict[str, Any], delivery.Outcome]] = []
        while True:
            try:
                finished.append(self.results.get_nowait())
            except queue.Empty:
                break
        if not finished:
            return
        conn = self.conn
        with transaction(conn):
            for row, outcome in finished:
                delivery.record(conn, row, outcome, self.settings, self.rng)
        for row, _ in finished:
            self.in_flight[row["endpoint_id"]] -= 1
        self.sent += len(finished)

    def _start_due(self) -> int:
        conn = self.conn
        now = time.time()
        lanes = self.settings.endpoint_concurrency
        started: list[dict[str, Any]] = []
        with transaction(conn):
            for endpoint_id in webhooks_store.deliverable_endpoint_ids(conn):
                free = lanes - self.in_flight.get(endpoint_id, 0)
                if free <= 0:
                    continue
                rows = webhooks_store.due_deliveries(conn, endpoint_id, now, free)
                if rows:
                    until = now + self.settings.timeout_s + LEASE_MARGIN_S
                    webhooks_store.lease_deliveries(conn, [row["id"] for row in rows], self.owner, until)
                    started += rows
        for row in started:
            endpoint_id = row["endpoint_id"]
            self.in_flight[endpoint_id] = self.in_flight.get(endpoint_id, 0) + 1
            client = self.clients.get(endpoint_id)
            if client is None:
                client = self.clients[endpoint_id] = delivery.new_client(self.settings)
            self.pool.submit(self._send, client, row)
        return len(started)

    def _send(self, client: httpx.Client, row: dict[str, Any]) -> None:
        try:
            outcome = delivery.attempt(client, self.keys_dir, row, self.settings)
        except Exception as exc:  # attempt catches what sending raises; anything else is a bug, logged
            log.exception("webhook delivery %s", row["id"])
            outcome = delivery.Outcome(iso(time.time()), None, 0.0, f"internal error: {type(exc).__name__}", "")
        self.results.put((row, outcome))
