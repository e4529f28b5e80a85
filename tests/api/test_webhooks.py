"""/v1/webhooks through the app: register, list, read, change, delete, rotate, test, the delivery
log and redelivery; scopes, tenants, the /v1/client/ alias, and every bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from appliance.services import identity
from appliance.services.datasets.ingest import ingest
from appliance.store import webhooks as webhooks_store
from appliance.store.db import fetch_one
from tests.conftest import auth

HOOK = "http://127.0.0.1:9/hook"


def create(client: FlaskClient, key: str, **body: Any) -> Any:
    payload = {"url": HOOK, "events": ["job.*"], **body}
    return client.post("/v1/webhooks", json=payload, headers=auth(key))


def error_of(answer: Any) -> dict[str, Any]:
    body = answer.get_json()
    assert "error" in body, body
    return dict(body["error"])


def test_register_shows_the_secret_once_and_stores_it_sealed(
    client: FlaskClient, keys: dict[str, str], db: Any
) -> None:
    events = ["job.succeeded", "job.mock.completed", "scada.*"]
    answer = create(client, keys["admin"], events=events, description="historian")
    assert answer.status_code == 201, answer.get_json()
    made = answer.get_json()
    assert made["id"].startswith("wh_") and made["secret"].startswith("whsec_")
    assert made["events"] == ["job.succeeded", "job.mock.completed", "scada.*"]
    assert made["status"] == "active" and made["enabled"] is True and made["description"] == "historian"
    assert made["_links"]["deliveries"] == f"/v1/webhooks/{made['id']}/deliveries"
    shown = client.get(f"/v1/webhooks/{made['id']}", headers=auth(keys["read"])).get_json()
    assert "secret" not in shown and shown["url"] == HOOK
    listed = client.get("/v1/client/webhooks", headers=auth(keys["read"])).get_json()
    assert [w["id"] for w in listed["data"]] == [made["id"]] and "secret" not in listed["data"][0]
    stored = fetch_one(db, "SELECT secret FROM webhook_endpoints WHERE id = ?", (made["id"],))
    assert stored is not None and made["secret"] not in stored["secret"] and stored["secret"].startswith("v1:")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://8.8.8.8/hook", "8.8.8.8 is outside the allowed networks"),
        ("http://[2001:4860:4860::8888]/hook", "2001:4860:4860::8888 is outside the allowed networks"),
        ("http://169.254.169.254/latest", "169.254.169.254 is outside the allowed networks"),
        ("http://0.0.0.0:8080/", "0.0.0.0 is outside the allowed networks"),
        ("http://no-such-host.invalid/hook", "does not resolve here"),
        ("ftp://127.0.0.1/hook", "only http and https URLs are accepted"),
        ("http://user:pw@127.0.0.1/hook", "credentials in the URL are not accepted"),
        ("http:///hook", "names no host"),
        ("http://127.0.0.1:99999/", "not a valid URL"),
    ],
)
def test_a_url_outside_the_allowlist_is_refused_at_registration(
    client: FlaskClient, keys: dict[str, str], url: str, reason: str
) -> None:
    answer = create(client, keys["admin"], url=url)
    assert answer.status_code == 400
    error = error_of(answer)
    assert error["code"] == "WEBHOOK_URL_NOT_ALLOWED" and reason in error["message"]
    assert error["details"][0]["field"] == "url" and "allowed_networks" in error["hint"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["job.*"]}, "url"),
        ({"url": HOOK}, "events"),
        ({"url": HOOK, "events": []}, "events"),
        ({"url": HOOK, "events": "job.*"}, "events"),
        ({"url": HOOK, "events": ["job.exploded"]}, "events.0"),
        ({"url": HOOK, "events": ["job.*", "*.*"]}, "events.1"),
        ({"url": HOOK, "events": ["job.*"], "description": "x" * 501}, "description"),
        ({"url": HOOK, "events": ["job.*"], "enabled": "maybe"}, "enabled"),
        ({"url": HOOK, "events": ["job.*"], "secret": "whsec_mine"}, "secret"),
        ({"url": 7, "events": ["job.*"]}, "url"),
    ],
)
def test_bad_registrations_name_the_field(
    client: FlaskClient, keys: dict[str, str], body: dict[str, Any], field: str
) -> None:
    answer = client.post("/v1/webhooks", json=body, headers=auth(keys["admin"]))
    assert answer.status_code == 400, answer.get_json()
    assert field in [d["field"] for d in error_of(answer)["details"]]


def test_managing_needs_admin_and_reading_needs_read(client: FlaskClient, keys: dict[str, str]) -> None:
    made = create(client, keys["admin"]).get_json()
    base = f"/v1/webhooks/{made['id']}"
    for method, path in [
        ("post", "/v1/webhooks"),
        ("patch", base),
        ("delete", base),
        ("post", f"{base}/rotate"),
        ("post", f"{base}/test"),
    ]:
        answer = getattr(client, method)(path, json={"url": HOOK, "events": ["*"]}, headers=auth(keys["generate"]))
        assert answer.status_code == 403 and error_of(answer)["code"] == "INSUFFICIENT_SCOPE", (method, path)
    for path in ["/v1/webhooks", base, f"{base}/deliveries"]:
        assert client.get(path, headers=auth(keys["read"])).status_code == 200, path
    assert client.get("/v1/webhooks").status_code == 401


def test_another_tenants_endpoint_is_not_found(client: FlaskClient, keys: dict[str, str], db: Any) -> None:
    made = create(client, keys["admin"]).get_json()
    other = identity.create_tenant(db, "other", credits=1)
    other_key = identity.create_key(db, other["id"], ["admin"])["api_key"]
    base = f"/v1/webhooks/{made['id']}"
    for method, path in [("get", base), ("patch", base), ("delete", base), ("post", f"{base}/rotate"),
                         ("post", f"{base}/test"), ("get", f"{base}/deliveries")]:
        answer = getattr(client, method)(path, json={"enabled": False}, headers=auth(other_key))
        assert answer.status_code == 404 and error_of(answer)["code"] == "WEBHOOK_NOT_FOUND", (method, path)
    assert client.get("/v1/webhooks", headers=auth(other_key)).get_json()["data"] == []


def test_update_events_enabled_and_url(client: FlaskClient, keys: dict[str, str]) -> None:
    made = create(client, keys["admin"]).get_json()
    path = f"/v1/webhooks/{made['id']}"
    changed = client.patch(path, json={"events": ["dataset.created"], "enabled": False}, headers=auth(keys["admin"]))
    assert changed.status_code == 200
    assert changed.get_json()["events"] == ["dataset.created"] and changed.get_json()["enabled"] is False
    moved = client.patch(path, json={"url": "http://192.168.10.20:8000/in"}, headers=auth(keys["admin"])).get_json()
    assert moved["url"] == "http://192.168.10.20:8000/in"
    refused = client.patch(path, json={"url": "http://8.8.4.4/"}, headers=auth(keys["admin"]))
    assert refused.status_code == 400 and error_of(refused)["code"] == "WEBHOOK_URL_NOT_ALLOWED"
    empty = client.patch(path, json={}, headers=auth(keys["admin"]))
    assert empty.status_code == 400
    bad = client.patch(path, json={"events": ["nope"]}, headers=auth(keys["admin"]))
    assert bad.status_code == 400 and error_of(bad)["details"][0]["field"] == "events.0"
    missing = client.patch("/v1/webhooks/wh_missing", json={"enabled": True}, headers=auth(keys["admin"]))
    assert missing.status_code == 404


def test_rotate_answers_a_new_secret_and_the_grace_period(client: FlaskClient, keys: dict[str, str]) -> None:
    made = create(client, keys["admin"]).get_json()
    rotated = client.post(f"/v1/webhooks/{made['id']}/rotate", headers=auth(keys["admin"]))
    assert rotated.status_code == 200
    body = rotated.get_json()
    assert body["secret"].startswith("whsec_") and body["secret"] != made["secret"]
    assert body["previous_secret_valid_until"] > body["updated_at"]


def test_events_reach_the_outbox_in_the_same_transaction(
    client: FlaskClient, keys: dict[str, str], db: Any, tenant: dict[str, Any], state_dir: Path
) -> None:
    made = create(client, keys["admin"], events=["dataset.*"]).get_json()
    dataset = ingest(db, state_dir, tenant["id"], "r.csv", "csv", [b"a,b\n1,2\n"], 10_000)
    assert client.delete(f"/v1/datasets/{dataset['id']}", headers=auth(keys["admin"])).status_code in (200, 204)
    log = client.get(f"/v1/webhooks/{made['id']}/deliveries", headers=auth(keys["read"])).get_json()
    assert [d["event"] for d in log["data"]] == ["dataset.deleted", "dataset.created"]  # newest first
    assert all(d["state"] == "pending" and d["attempt_count"] == 0 and d["attempts"] == [] for d in log["data"])
    message = fetch_one(db, "SELECT body FROM webhook_messages WHERE id = ?", (log["data"][1]["message_id"],))
    assert message is not None and f'"id":"{dataset["id"]}"' in message["body"]


def test_test_ping_and_redeliver(client: FlaskClient, keys: dict[str, str], db: Any) -> None:
    made = create(client, keys["admin"]).get_json()
    base = f"/v1/webhooks/{made['id']}"
    ping = client.post(f"{base}/test", headers=auth(keys["admin"]))
    assert ping.status_code == 202
    delivery = ping.get_json()
    assert delivery["event"] == "webhook.test" and delivery["state"] == "pending"
    webhooks_store.update_delivery(db, delivery["id"], {"state": "failed", "finished_at": "2026-01-01T00:00:00.000Z"})
    again = client.post(f"{base}/deliveries/{delivery['id']}/redeliver", headers=auth(keys["admin"]))
    assert again.status_code == 202
    assert again.get_json()["state"] == "pending" and again.get_json()["message_id"] == delivery["message_id"]
    one = client.get(f"{base}/deliveries/{delivery['id']}", headers=auth(keys["read"])).get_json()
    assert one["id"] == delivery["id"]
    missing = client.post(f"{base}/deliveries/dlv_nope/redeliver", headers=auth(keys["admin"]))
    assert missing.status_code == 404 and error_of(missing)["code"] == "WEBHOOK_NOT_FOUND"
    paged = client.get(f"{base}/deliveries?limit=0", headers=auth(keys["read"]))
    assert paged.status_code == 400


def test_delete_removes_the_endpoint_and_its_log(client: FlaskClient, keys: dict[str, str], db: Any) -> None:
    made = create(client, keys["admin"]).get_json()
    client.post(f"/v1/webhooks/{made['id']}/test", headers=auth(keys["admin"]))
    gone = client.delete(f"/v1/webhooks/{made['id']}", headers=auth(keys["admin"]))
    assert gone.status_code == 200 and gone.get_json()["id"] == made["id"]
    assert client.get(f"/v1/webhooks/{made['id']}", headers=auth(keys["read"])).status_code == 404
    assert fetch_one(db, "SELECT COUNT(*) AS n FROM webhook_deliveries") == {"n": 0}
    assert fetch_one(db, "SELECT COUNT(*) AS n FROM webhook_messages") == {"n": 0}


def test_the_endpoint_limit(client: FlaskClient, keys: dict[str, str], app_config: dict[str, Any]) -> None:
    limit = 20
    for _ in range(limit):
        assert create(client, keys["admin"]).status_code == 201
    over = create(client, keys["admin"])
    assert over.status_code == 409 and error_of(over)["code"] == "WEBHOOK_LIMIT"


def test_metrics_show_endpoints_by_status_and_pending_deliveries(
    client: FlaskClient, keys: dict[str, str], db: Any
) -> None:
    made = create(client, keys["admin"]).get_json()
    client.post(f"/v1/webhooks/{made['id']}/test", headers=auth(keys["admin"]))
    webhooks_store.update_endpoint(db, made["id"], {"status": "failing"})
    text = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True)
    assert 'sealforge_webhook_endpoints{status="failing"} 1' in text
    assert 'sealforge_webhook_endpoints{status="active"} 0' in text
    assert "sealforge_webhook_deliveries_pending 1" in text
