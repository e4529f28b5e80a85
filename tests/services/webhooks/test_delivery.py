"""The deliverer in this process against real receivers on loopback: signatures every receiver can
check, retries with the log of each attempt, 410, failing endpoints and their alarm, redirects,
rotation, and a dead receiver that does not hold up another endpoint."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sealforge_client.webhooks import verify
from standardwebhooks.webhooks import Webhook

from appliance.services import identity
from appliance.services import secrets as secrets_service
from appliance.services.tls import make_self_signed
from appliance.services.webhooks import emit, endpoints, secretbox
from appliance.services.webhooks.deliverer import Deliverer
from appliance.services.webhooks.destinations import Policy
from appliance.services.webhooks.settings import Settings
from appliance.store import webhooks as webhooks_store
from appliance.store.db import fetch_all, transaction
from appliance.store.open import open_db
from tests.conftest import free_port
from tests.webhook_receiver import receiver


def settings(**overrides: Any) -> Settings:
    base = {"retry_base_s": 0.05, "retry_max_interval_s": 0.2, "poll_s": 0.01, "timeout_s": 2.0, "failing_after": 3}
    return Settings(**{"policy": Policy.from_config({}), **base, **overrides})


@pytest.fixture
def conn(state_dir: Path) -> Any:
    return open_db(state_dir)


@pytest.fixture
def tenant_id(conn: Any) -> str:
    return str(identity.create_tenant(conn, "plant", credits=10)["id"])


class Running:
    """A deliverer looping on its own thread until the test ends."""

    def __init__(self, state_dir: Path, cfg: Settings) -> None:
        self.deliverer = Deliverer(state_dir, cfg)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.deliverer.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=15)


@pytest.fixture
def run_deliverer(state_dir: Path) -> Iterator[Any]:
    started: list[Running] = []

    def start(cfg: Settings | None = None) -> Running:
        started.append(Running(state_dir, cfg or settings()))
        return started[-1]

    yield start
    for running in started:
        running.close()


def register(conn: Any, state_dir: Path, tenant_id: str, url: str, events: list[str], cfg: Settings) -> dict[str, Any]:
    return endpoints.create(conn, state_dir / "keys", cfg, tenant_id, {"url": url, "events": events})


def emit_one(conn: Any, tenant_id: str, event_type: str, resource: dict[str, Any]) -> str | None:
    with transaction(conn):
        return emit(conn, tenant_id, event_type, resource)


def check_both_ways(got: Any, secret: str) -> dict[str, Any]:
    """The `standardwebhooks` library and the client's verify() both accept the delivery."""
    Webhook(secret).verify(got.body, got.headers)
    return verify(got.body, got.headers, secret)


def test_every_delivery_verifies_with_standardwebhooks_and_the_client(
    conn: Any, state_dir: Path, tenant_id: str, run_deliverer: Any
) -> None:
    cfg = settings()
    with receiver() as hook:
        endpoint = register(conn, state_dir, tenant_id, hook.url, ["job.*", "dataset.created"], cfg)
        run_deliverer(cfg)
        ids = [emit_one(conn, tenant_id, "job.succeeded", {"id": f"job_{n}", "status": "succeeded"}) for n in range(5)]
        assert emit_one(conn, tenant_id, "seal.appended", {"id": "seal_1"}) is None  # not subscribed
        got = hook.wait_for(5)
    events = [check_both_ways(g, endpoint["secret"]) for g in got]
    assert None not in ids and sorted(e["id"] for e in events) == sorted(str(i) for i in ids)
    assert {e["type"] for e in events} == {"job.succeeded"}
    assert all(g.headers["x-slt-event"] == "job.succeeded" for g in got)
    assert all(g.headers["webhook-id"] == e["id"] for g, e in zip(got, events, strict=True))
    first = next(e for e in events if e["data"]["id"] == "job_0")
    assert first["data"] == {"id": "job_0", "status": "succeeded"} and first["created_at"].endswith("Z")


def test_a_receiver_that_is_down_gets_retries_and_the_log_shows_each_attempt(
    conn: Any, state_dir: Path, tenant_id: str, run_deliverer: Any
) -> None:
    cfg = settings()
    with receiver() as hook:
        hook.status = 503
        hook.answer = b"warming up"
        endpoint = register(conn, state_dir, tenant_id, hook.url, ["*"], cfg)
        run_deliverer(cfg)
        emit_one(conn, tenant_id, "dataset.created", {"id": "ds_1"})
        hook.wait_for(3)
        hook.status = 200
        hook.answer = b"thanks"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            log = endpoints.deliveries(conn, tenant_id, endpoint["id"], 10, None)["data"]
            if log and log[0]["state"] == "delivered":
                break
            time.sleep(0.05)
    delivery = log[0]
    assert delivery["state"] == "delivered", delivery
    attempts = delivery["attempts"]
    assert len(attempts) == delivery["attempt_count"] >= 4
    failed, last = attempts[:-1], attempts[-1]
    assert all(a["status_code"] == 503 and a["error"] == "the receiver answered 503" for a in failed)
    assert all(a["response_excerpt"] == "warming up" and a["next_retry_at"] for a in failed)
    assert all(a["latency_ms"] is not None and a["latency_ms"] >= 0 for a in attempts)
    assert last["status_code"] == 200 and last["error"] is None and last["response_excerpt"] == "thanks"
    assert len({g.headers["webhook-id"] for g in hook.received}) == 1  # the same message every time
    shown = endpoints.get(conn, tenant_id, endpoint["id"])
    assert shown["status"] == "active" and shown["consecutive_failures"] == 0


def test_repeated_failure_marks_the_endpoint_failing_with_an_audited_alarm(
    conn: Any, state_dir: Path, tenant_id: str, run_deliverer: Any
) -> None:
    cfg = settings(failing_after=3)
    with receiver() as hook:
        hook.status = 500
        endpoint = register(conn, state_dir, tenant_id, hook.url, ["*"], cfg)
        run_deliverer(cfg)
        emit_one(conn, tenant_id, "dataset.created", {"id": "ds_1"})
        hook.wait_for(3)
        deadline = time.monotonic() + 10
        while endpoints.get(conn, tenant_id, endpoint["id"])["status"] != "failing" and time.monotonic() < deadline:
            time.sleep(0.05)
    shown = endpoints.get(conn, tenant_id, endpoint["id"])
    assert shown["status"] == "failing" and shown["failing_since"]
    assert "consecutive failed attempts" in shown["status_reason"]
    alarms = fetch_all(conn, "SELECT * FROM audit_log WHERE correlation_id = 'webhook.failing'")
    assert len(alarms) == 1 and alarms[0]["path"] == f"/v1/webhooks/{endpoint['id']}#failing"
    assert alarms[0]["tenant_id"] == tenant_id and alarms[0]["method"] == "ALARM"


def test_410_disables_the_endpoint_and_ends_its_deliveries(
    conn: Any, state_dir: Path, tenant_id: str, run_deliverer: Any
) -> None:
    cfg = settings()
    with receiver() as hook:
        hook.status = 410
        endpoint = register(conn, state_dir, tenant_id, hook.url, ["*"], cfg)
        emit_one(conn, tenant_id, "dataset.created", {"id": "ds_1"})
        run_deliverer(cfg)
        hook.wait_for(1)
        deadline = time.monotonic() + 10
        while endpoints.get(conn, tenant_id, endpoint["id"])["status"] != "disabled" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert emit_one(conn, tenant_id, "dataset.created", {"id": "ds_2"}) is None  # no longer subscribed
    shown = endpoints.get(conn, tenant_id, endpoint["id"])
    assert shown["status"] == "disabled" and shown["enabled"] is False and "410" in shown["status_reason"]
    log = endpoints.deliveries(conn, tenant_id, endpoint["id"], 10, None)["data"]
    assert [d["state"] for d in log] == ["failed"] and log[0]["last_status_code"] == 410
    resumed = endpoints.update(conn, cfg, tenant_id, endpoint["id"], {"enabled": True})
    assert resumed["status"] == "active" and resumed["enabled"] is True


def test_a_redirect_is_not_followed(conn: Any, state_dir: Path, tenant_id: str, run_deliverer: Any) -> None:
    cfg = settings(retry_base_s=60.0, retry_max_interval_s=60.0)
    with receiver() as hook:
        hook.status = 302
        hook.extra_headers = {"Location": "http://203.0.113.7/steal"}
        endpoint = register(conn, state_dir, tenant_id, hook.url, ["*"], cfg)
        emit_one(conn, tenant_id, "dataset.created", {"id": "ds_1"})
        run_deliverer(cfg)
        hook.wait_for(1)
        time.sleep(0.3)
    log = endpoints.deliveries(conn, tenant_id, endpoint["id"], 10, None)["data"]
    attempt = log[0]["attempts"][0]
    assert log[0]["state"] == "pending" and attempt["status_code"] == 302
    assert attempt["error"] == "redirect to http://203.0.113.7/steal not followed: register the final URL"
    assert len(hook.received) == 1


def test_a_destination_refused_at_delivery_is_logged_with_the_reason(
    conn: Any, state_dir: Path, tenant_id: str, run_deliverer: Any
) -> None:
    """Registered while allowed, then the operator narrowed the allowlist: nothing is sent."""
    with receiver() as hook:
        endpoint = register(conn, state_dir, tenant_id, hook.url, ["*"], settings())
        emit_one(conn, tenant_id, "dataset.created", {"id": "ds_1"})
        narrowed = settings(policy=Policy.from_config({"allowed_networks": ["10.0.0.0/8"]}), retry_base_s=60.0)
        running = run_deliverer(narrowed)
        deadline = time.monotonic() + 10
        while running.deliverer.sent == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        assert hook.received == []
    attempt = endpoints.deliveries(conn, tenant_id, endpoint["id"], 10, None)["data"][0]["attempts"][0]
    assert attempt["status_code"] is None
    assert attempt["error"] == "WEBHOOK_URL_NOT_ALLOWED: 127.0.0.1 is outside the allowed networks (10.0.0.0/8)"


def test_during_rotation_a_receiver_holding_either_secret_verifies(
    conn: Any, state_dir: Path, tenant_id: str, run_deliverer: Any
) -> None:
    cfg = settings()
    with receiver() as hook:
        endpoint = register(conn, state_dir, tenant_id, hook.url, ["*"], cfg)
        rotated = endpoints.rotate(conn, state_dir / "keys", cfg, tenant_id, endpoint["id"])
        assert rotated["secret"] != endpoint["secret"] and rotated["previous_secret_valid_until"]
        run_deliverer(cfg)
        emit_one(conn, tenant_id, "dataset.created", {"id": "ds_1"})
        got = hook.wait_for(1)[0]
    check_both_ways(got, endpoint["secret"])
    check_both_ways(got, rotated["secret"])
    assert len(got.headers["webhook-signature"].split()) == 2
    assert got.headers["x-slt-signature"].count("blake3=") == 2


def test_after_the_grace_period_only_the_new_secret_signs(
    conn: Any, state_dir: Path, tenant_id: str, run_deliverer: Any
) -> None:
    cfg = settings(rotation_grace_s=0.0)
    with receiver() as hook:
        endpoint = register(conn, state_dir, tenant_id, hook.url, ["*"], cfg)
        rotated = endpoints.rotate(conn, state_dir / "keys", cfg, tenant_id, endpoint["id"])
        assert rotated["previous_secret_valid_until"] is None
        run_deliverer(cfg)
        emit_one(conn, tenant_id, "dataset.created", {"id": "ds_1"})
        got = hook.wait_for(1)[0]
    check_both_ways(got, rotated["secret"])
    with pytest.raises(Exception, match="signature"):
        Webhook(endpoint["secret"]).verify(got.body, got.headers)


def test_dead_receivers_do_not_hold_up_another_endpoint(
    conn: Any, state_dir: Path, tenant_id: str, run_deliverer: Any
) -> None:
    """Eight receivers that accept and do not answer until the healthy ninth has had everything:
    with one pool shared between endpoints, the ninth would wait for the others (no timing is
    asserted: the slow ones are released only after the fast one got all 20)."""
    cfg = settings(timeout_s=60.0, endpoint_concurrency=2)
    release = threading.Event()
    held: list[str] = []

    def hold(got: Any) -> None:
        held.append(got.headers["webhook-id"])
        release.wait(60)

    with ExitStack() as stack:
        slow = [stack.enter_context(receiver()) for _ in range(8)]
        fast = stack.enter_context(receiver())
        stack.callback(release.set)  # before the receivers shut down (callbacks run last in, first out)
        for hook in slow:
            hook.on_request = hold
            register(conn, state_dir, tenant_id, hook.url, ["*"], cfg)
        register(conn, state_dir, tenant_id, fast.url, ["*"], cfg)
        run_deliverer(cfg)
        for n in range(20):
            emit_one(conn, tenant_id, "dataset.created", {"id": f"ds_{n}"})
        fast.wait_for(20, timeout=30)
        assert not release.is_set() and all(hook.received == [] for hook in slow)  # all still stuck
        assert len(held) <= 8 * 2  # each slow endpoint's two lanes, no more


def test_leases_of_a_dead_deliverer_are_freed_at_start(conn: Any, state_dir: Path, tenant_id: str) -> None:
    cfg = settings()
    with receiver() as hook:
        endpoint = register(conn, state_dir, tenant_id, hook.url, ["*"], cfg)
        emit_one(conn, tenant_id, "dataset.created", {"id": "ds_1"})
        with transaction(conn):
            (row,) = webhooks_store.due_deliveries(conn, endpoint["id"], time.time(), 10)
            dead = f"{socket.gethostname()}:999999:1"
            webhooks_store.lease_deliveries(conn, [row["id"]], dead, time.time(), time.time() + 3600)
        deliverer = Deliverer(state_dir, cfg)
        assert deliverer.step() == 1  # housekeeping at the first step freed the dead owner's lease
        deadline = time.monotonic() + 5
        while deliverer.sent == 0 and time.monotonic() < deadline:
            deliverer.step()
            time.sleep(0.01)
        deliverer.close()
        assert json.loads(hook.received[0].body)["data"] == {"id": "ds_1"}


def test_a_lost_sealing_key_fails_deliveries_visibly_until_the_secret_is_rotated(
    conn: Any, state_dir: Path, tenant_id: str, run_deliverer: Any
) -> None:
    cfg = settings(retry_base_s=60.0, retry_max_interval_s=60.0)
    with receiver() as hook:
        endpoint = register(conn, state_dir, tenant_id, hook.url, ["*"], cfg)
        (state_dir / "keys" / secretbox.KEY_FILE).unlink()  # as if the key dir were lost, then the process restarted
        secrets_service._state_secrets.clear()
        secretbox.open_secret.cache_clear()
        emit_one(conn, tenant_id, "dataset.created", {"id": "ds_1"})
        running = run_deliverer(cfg)
        deadline = time.monotonic() + 10
        while running.deliverer.sent == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        attempt = endpoints.deliveries(conn, tenant_id, endpoint["id"], 10, None)["data"][0]["attempts"][0]
        assert attempt["error"] == "cannot open the endpoint's secret: InvalidTag" and hook.received == []
        rotated = endpoints.rotate(conn, state_dir / "keys", cfg, tenant_id, endpoint["id"])
        emit_one(conn, tenant_id, "dataset.created", {"id": "ds_2"})
        got = hook.wait_for(1)[0]
    assert check_both_ways(got, rotated["secret"])["data"] == {"id": "ds_2"}
    assert len(got.headers["webhook-signature"].split()) == 1  # the unreadable previous secret is left out


def test_a_receiver_that_is_not_listening_yet_gets_its_delivery_once_it_is(
    conn: Any, state_dir: Path, tenant_id: str, run_deliverer: Any
) -> None:
    port = free_port()
    endpoint = register(conn, state_dir, tenant_id, f"http://127.0.0.1:{port}/hook", ["*"], settings())
    emit_one(conn, tenant_id, "dataset.created", {"id": "ds_1"})
    running = run_deliverer(settings())
    deadline = time.monotonic() + 10
    while running.deliverer.sent < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    with receiver(port) as hook:
        got = hook.wait_for(1)[0]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            (delivery,) = endpoints.deliveries(conn, tenant_id, endpoint["id"], 10, None)["data"]
            if delivery["state"] == "delivered":
                break
            time.sleep(0.02)
    assert json.loads(got.body)["data"] == {"id": "ds_1"}
    attempts = delivery["attempts"]
    assert delivery["state"] == "delivered" and len(attempts) >= 4
    assert all(a["status_code"] is None and a["error"].startswith("ConnectError") for a in attempts[:-1])
    assert attempts[-1]["status_code"] == 200


def test_https_connects_to_the_checked_address_with_the_name_for_sni_and_host(
    conn: Any, state_dir: Path, tenant_id: str, run_deliverer: Any, tmp_path: Path
) -> None:
    """The name resolves (here, by the policy's table) to 127.0.0.1; the delivery connects there and
    verifies the receiver's certificate for the name, against `[webhooks] ca_file`."""
    cert, key = tmp_path / "hook.crt", tmp_path / "hook.key"
    make_self_signed(cert, key, ["hook.plant"])
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    names = {"hook.plant": ["127.0.0.1"], "impostor.plant": ["127.0.0.1"]}
    policy = Policy.from_config({}, lambda host, _port: names[host])
    cfg = settings(policy=policy, ca_file=str(cert), retry_base_s=60.0, retry_max_interval_s=60.0)
    with receiver(tls=server_tls) as hook:
        good = register(conn, state_dir, tenant_id, f"https://hook.plant:{hook.port}/in", ["*"], cfg)
        bad = register(conn, state_dir, tenant_id, f"https://impostor.plant:{hook.port}/in", ["*"], cfg)
        emit_one(conn, tenant_id, "dataset.created", {"id": "ds_1"})
        running = run_deliverer(cfg)
        got = hook.wait_for(1)[0]
        deadline = time.monotonic() + 10
        while running.deliverer.sent < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert got.headers["host"] == f"hook.plant:{hook.port}" and got.path == "/in"
    assert check_both_ways(got, good["secret"])["data"] == {"id": "ds_1"}
    assert len(hook.received) == 1
    refused = endpoints.deliveries(conn, tenant_id, bad["id"], 10, None)["data"][0]["attempts"][0]
    assert refused["status_code"] is None and "CERTIFICATE_VERIFY_FAILED" in refused["error"]
