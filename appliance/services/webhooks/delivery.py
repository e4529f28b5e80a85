"""One delivery attempt, and what its outcome does to the delivery and its endpoint.

`attempt` checks the destination again (the allowlist, a fresh resolution), signs the message with
every live secret of the endpoint and POSTs it to the checked address, reading at most
`response_cap_bytes` of the answer; it never raises. `record` writes the attempt to the log and
moves the delivery on: delivered on a 2xx; retried after an exponential, jittered back-off while
the event is younger than `max_age_h`, failed after that; on 410 Gone the endpoint is disabled and
its pending deliveries end. Enough consecutive failures mark the endpoint `failing`, which is
shown on the endpoint and written to the audit log as an alarm for the operator.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import blake3
import httpx
from cryptography.exceptions import InvalidTag

from appliance import __version__
from appliance.clock import iso, now_iso
from appliance.services import audit
from appliance.services.webhooks import secretbox, signing
from appliance.services.webhooks.destinations import DestinationRefused
from appliance.services.webhooks.settings import Settings
from appliance.store import webhooks as webhooks_store
from appliance.store.db import transaction

log = logging.getLogger("sealforge.webhooks")
EXCERPT_CHARS = 512
USER_AGENT = f"Sealforge-Webhooks/{__version__}"


@dataclass(frozen=True)
class Outcome:
    started_at: str
    status_code: int | None
    latency_ms: float
    error: str | None
    excerpt: str

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def live_secrets(keys_dir: Path, row: dict[str, Any], now: float) -> list[str]:
    """The current secret, and the previous one while its rotation grace lasts."""
    found = [secretbox.open_secret(keys_dir, row["endpoint_id"], row["secret"])]
    until = row.get("previous_secret_until")
    if row.get("previous_secret") and until and _epoch(until) > now:
        try:
            found.append(secretbox.open_secret(keys_dir, row["endpoint_id"], row["previous_secret"]))
        except (ValueError, InvalidTag):  # sealed under a key since lost: the new secret alone signs
            log.warning("webhook endpoint %s: its previous secret cannot be opened", row["endpoint_id"])
    return found


def _epoch(at: str) -> float:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


def tls_context(settings: Settings) -> ssl.SSLContext:
    """How https receivers are verified: the system's CAs, or `[webhooks] ca_file` (a plant CA)."""
    return ssl.create_default_context(cafile=settings.ca_file or None)


def new_client(settings: Settings, tls: ssl.SSLContext | None = None) -> httpx.Client:
    """A client for one endpoint: no redirects, no proxy from the environment, its own pool.
    ``tls``: a context shared by all clients (loading the system's CA store costs ~0.1 s each)."""
    lanes = settings.endpoint_concurrency
    return httpx.Client(
        timeout=httpx.Timeout(settings.timeout_s),
        follow_redirects=False,
        trust_env=False,
        verify=tls if tls is not None else tls_context(settings),
        limits=httpx.Limits(max_connections=lanes, max_keepalive_connections=lanes),
    )


def attempt(client: httpx.Client, keys_dir: Path, row: dict[str, Any], settings: Settings) -> Outcome:
    """Send one delivery (a row of `due_deliveries`) once; every failure is an outcome, not an error."""
    started_at = now_iso()
    start = time.monotonic()

    def failed(error: str, status: int | None = None, excerpt: str = "") -> Outcome:
        return Outcome(started_at, status, round((time.monotonic() - start) * 1000, 2), error, excerpt)

    try:
        target = settings.policy.check(row["url"])
    except DestinationRefused as exc:
        return failed(f"WEBHOOK_URL_NOT_ALLOWED: {exc}")
    body = row["body"].encode()
    timestamp = int(time.time())
    try:
        live = live_secrets(keys_dir, row, time.time())
        signed = signing.headers(live, row["message_id"], row["type"], timestamp, body)
    except Exception as exc:  # a key dir that lost its key: say so in the log rather than crash the loop
        return failed(f"cannot open the endpoint's secret: {type(exc).__name__}")
    headers = {
        **signed,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "identity",  # the excerpt is read raw, so it must not come compressed
        "Host": target.host_header,
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    deadline = start + settings.timeout_s
    try:
        with client.stream("POST", target.connect_url, content=body, headers=headers, extensions=extensions) as resp:
            kept = bytearray()
            for chunk in resp.iter_raw():
                kept += chunk[: settings.response_cap_bytes - len(kept)]
                if len(kept) >= settings.response_cap_bytes:
                    break
                if time.monotonic() > deadline:
                    return failed(f"the answer took longer than {settings.timeout_s:g} s", resp.status_code)
            status = resp.status_code
            location = resp.headers.get("location")
    except httpx.TimeoutException:
        return failed(f"no answer within {settings.timeout_s:g} s")
    except httpx.HTTPError as exc:
        return failed(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    excerpt = bytes(kept).decode("utf-8", "replace")[:EXCERPT_CHARS]
    latency = round((time.monotonic() - start) * 1000, 2)
    if 300 <= status < 400:
        where = f" to {location}" if location else ""
        return Outcome(started_at, status, latency, f"redirect{where} not followed: register the final URL", excerpt)
    if 200 <= status < 300:
        return Outcome(started_at, status, latency, None, excerpt)
    return Outcome(started_at, status, latency, f"the receiver answered {status}", excerpt)


def retry_delay(attempts: int, settings: Settings, rng: random.Random) -> float:
    """Seconds before the next try after ``attempts`` failures: base·2^(n-1), capped, with jitter
    (a uniform 50-100 % of it), so endpoints that failed together do not retry in lockstep."""
    exponent = min(attempts - 1, 40)
    return min(settings.retry_max_interval_s, settings.retry_base_s * 2**exponent) * rng.uniform(0.5, 1.0)


def _next_state(
    row: dict[str, Any], outcome: Outcome, settings: Settings, rng: random.Random, now: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The delivery's new columns and the attempt's log row, for one outcome."""
    attempts = int(row["attempts"]) + 1
    delivery: dict[str, Any] = {
        "id": row["id"],
        "attempts": attempts,
        "last_status": outcome.status_code,
        "last_error": outcome.error,
        "state": "pending",
        "finished_at": None,
        "due_at": float(row["due_at"]),
        "next_attempt_at": None,
    }
    if outcome.delivered:
        delivery |= {"state": "delivered", "finished_at": iso(now)}
    elif outcome.gone:
        delivery |= {"state": "failed", "finished_at": iso(now)}
    else:
        delay = retry_delay(attempts, settings, rng)
        if now + delay - float(row["committed_at"]) > settings.max_age_s:
            delivery |= {"state": "failed", "finished_at": iso(now)}  # given up: older than max_age_h
        else:
            delivery |= {"due_at": now + delay, "next_attempt_at": iso(now + delay)}
    attempt = {
        "delivery_id": row["id"],
        "attempt": attempts,
        "started_at": outcome.started_at,
        "status_code": outcome.status_code,
        "latency_ms": outcome.latency_ms,
        "error": outcome.error,
        "response_excerpt": outcome.excerpt,
        "next_retry_at": delivery["next_attempt_at"],
    }
    return delivery, attempt


def record(
    conn: sqlite3.Connection, finished: list[tuple[dict[str, Any], Outcome]], settings: Settings, rng: random.Random
) -> None:
    """Log the attempts and move their deliveries and endpoints on, in one transaction that stays
    short however many outcomes it records (a few statements for all of them, each endpoint read
    and written once), since the API's writes wait for it. A delivery whose endpoint was deleted
    while its attempt ran is skipped."""
    if not finished:
        return
    now = time.time()
    changes = [_next_state(row, outcome, settings, rng, now) for row, outcome in finished]
    by_endpoint: dict[str, list[Outcome]] = {}
    for row, outcome in finished:
        by_endpoint.setdefault(row["endpoint_id"], []).append(outcome)
    with transaction(conn):
        webhooks_store.record_attempts(conn, [d for d, _ in changes], [a for _, a in changes])
        for endpoint_id, outcomes in by_endpoint.items():
            _update_endpoint(conn, endpoint_id, outcomes, settings)


def _update_endpoint(conn: sqlite3.Connection, endpoint_id: str, outcomes: list[Outcome], settings: Settings) -> None:
    """Fold the outcomes, in order, into the endpoint's failure count and status."""
    endpoint = webhooks_store.get_endpoint(conn, endpoint_id)
    if endpoint is None:
        return
    at = now_iso()
    failures, status = int(endpoint["consecutive_failures"]), str(endpoint["status"])
    changes: dict[str, Any] = {}
    for outcome in outcomes:
        if outcome.delivered:
            failures = 0
            changes["last_success_at"] = at
            if status == "failing":
                status = "active"
                changes |= {"status_reason": None, "failing_since": None}
                log.info("webhook endpoint %s delivers again", endpoint_id)
            continue
        failures += 1
        changes["last_failure_at"] = at
        if outcome.gone and status != "disabled":
            status = "disabled"
            reason = "the receiver answered 410 Gone: disabled; enable it again to resume"
            changes |= {"enabled": 0, "status_reason": reason, "updated_at": at}
            webhooks_store.fail_pending_of_endpoint(conn, endpoint_id, at, "the endpoint was disabled by 410 Gone")
            _alarm(conn, endpoint, "disabled", reason)
        elif status == "active" and failures >= settings.failing_after:
            status = "failing"
            reason = f"{failures} consecutive failed attempts; the last: {outcome.error}"
            changes |= {"status_reason": reason, "failing_since": at}
            _alarm(conn, endpoint, "failing", reason)
    webhooks_store.update_endpoint(conn, endpoint_id, {**changes, "consecutive_failures": failures, "status": status})


def _alarm(conn: sqlite3.Connection, endpoint: dict[str, Any], state: str, reason: str) -> None:
    """An entry in the hash-chained audit log (what an operator reviews) and a warning in the log."""
    log.warning("webhook endpoint %s of tenant %s is %s: %s", endpoint["id"], endpoint["tenant_id"], state, reason)
    detail = json.dumps({"endpoint_id": endpoint["id"], "state": state, "reason": reason}, sort_keys=True)
    audit.record(
        conn,
        {
            "at": now_iso(),
            "tenant_id": endpoint["tenant_id"],
            "caller": "webhooks-deliverer",
            "scope": "system",
            "method": "ALARM",
            "path": f"/v1/webhooks/{endpoint['id']}#{state}",
            "status": 0,
            "body_blake3": blake3.blake3(detail.encode()).hexdigest(),
            "correlation_id": f"webhook.{state}",
        },
    )
