"""A live SCADA run's webhook events, from a real `sim` worker: started once every endpoint
accepts, an alarm raised by the plant's own PLC logic, and stopped when the run ends."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from appliance.store.db import fetch_all
from tests.conftest import auth, free_port, wait_for


@pytest.mark.heavy
def test_a_live_run_announces_its_start_its_alarms_and_its_stop(
    client: FlaskClient, keys: dict[str, str], db: Any, start_worker: Any
) -> None:
    made = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/", "events": ["scada.*"]},
                       headers=auth(keys["admin"]))
    assert made.status_code == 201
    start_worker("sim")
    headers = auth(keys["generate"])
    body = {
        "plant": "water",
        "seed": 3,
        "speed": 10,
        "duration": 3,
        "params": {"level1_high": 2.5},  # below the initial T101 level (3 m): LIT101.HI from the first scans
        "modbus": {"port": free_port()},
    }
    run = client.post("/v1/scada/runs", json=body, headers=headers).get_json()
    assert wait_for(client, headers, run["job_id"], {"succeeded", "failed"}, timeout=90)["status"] == "succeeded"
    deadline = time.monotonic() + 10
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not any(r["type"] == "scada.run.stopped" for r in rows):
        rows = fetch_all(db, "SELECT type, body FROM webhook_messages ORDER BY id")
        time.sleep(0.1)
    events = [(r["type"], json.loads(r["body"])["data"]) for r in rows]
    types = [t for t, _ in events]
    assert types[0] == "scada.run.started" and types[-1] == "scada.run.stopped", types
    started, stopped = events[0][1], events[-1][1]
    assert started["id"] == run["id"] and started["status"] == "running"
    assert all(ep["state"] == "accepting" for ep in started["endpoints"])
    assert stopped["id"] == run["id"] and stopped["status"] == client.get(
        f"/v1/scada/runs/{run['id']}", headers=headers
    ).get_json()["status"]
    alarms = [data for t, data in events if t == "scada.alarm.raised"]
    assert any(a["tag"] == "LIT101.HI" and a["run_id"] == run["id"] for a in alarms), alarms
