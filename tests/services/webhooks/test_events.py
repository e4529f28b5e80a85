"""What reaches the outbox: job moves (in their own transaction), seals, datasets, a live run's
alarms; event patterns; nothing for a tenant without endpoints or a rolled-back change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from appliance.kinds.simulation.live import _Alarms
from appliance.services.webhooks import emit, endpoints, outbox
from appliance.services.webhooks.settings import Settings
from appliance.store.db import fetch_all, transaction
from simulators.plants.water import WaterPlant
from tests.conftest import auth, mock_schema


def outbox_types(db: Any) -> list[str]:
    return [row["type"] for row in fetch_all(db, "SELECT type FROM webhook_messages ORDER BY id")]


def test_patterns_and_event_names() -> None:
    assert outbox.matches(["job.*"], "job.mock.completed") and outbox.matches(["*"], "webhook.test")
    assert outbox.matches(["scada.alarm.*"], "scada.alarm.raised")
    assert not outbox.matches(["job.*"], "jobs.created") and not outbox.matches(["seal.appended"], "seal")
    assert outbox.event_type_problem("job.synthesize.completed") is None
    assert outbox.event_type_problem("job.<kind>.completed") is not None
    assert "unknown event type 'job.done'" in str(outbox.event_type_problem("job.done"))


def test_a_job_run_queues_each_move_the_completion_and_the_seal(
    client: FlaskClient, keys: dict[str, str], db: Any, inline_jobs: Any
) -> None:
    made = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/", "events": ["job.*", "seal.appended"]},
                       headers=auth(keys["admin"]))
    assert made.status_code == 201
    headers = auth(keys["generate"])
    body = {"kind": "mock", "seed": 1, "params": {"schema": mock_schema(20)}}
    job = client.post("/v1/jobs", json=body, headers=headers)
    done = inline_jobs.finish(client, headers, job.get_json()["id"])
    assert outbox_types(db) == [
        "job.created", "job.queued", "job.running", "job.succeeded", "job.mock.completed", "seal.appended"
    ]
    bodies = {row["type"]: json.loads(row["body"]) for row in fetch_all(db, "SELECT type, body FROM webhook_messages")}
    assert bodies["job.succeeded"]["data"] == done and bodies["job.created"]["data"]["status"] == "created"
    assert bodies["seal.appended"]["data"]["job_id"] == done["id"] and "envelope" in bodies["seal.appended"]["data"]
    assert all(set(b) == {"id", "type", "created_at", "data"} for b in bodies.values())


def test_nothing_is_queued_without_an_endpoint_or_when_the_change_rolls_back(
    db: Any, tenant: dict[str, Any], state_dir: Path
) -> None:
    with transaction(db):
        assert emit(db, tenant["id"], "dataset.created", lambda: pytest.fail("built for nobody")) is None
    hook = {"url": "http://127.0.0.1:9/", "events": ["*"]}
    endpoints.create(db, state_dir / "keys", Settings.from_config({}), tenant["id"], hook)
    with pytest.raises(RuntimeError, match="boom"), transaction(db):
        assert emit(db, tenant["id"], "dataset.created", {"id": "ds_1"}) is not None
        raise RuntimeError("boom")
    assert outbox_types(db) == []
    with pytest.raises(RuntimeError, match="write transaction"):
        emit(db, tenant["id"], "dataset.created", {})


def test_alarm_tags_raise_and_clear() -> None:
    alarms = _Alarms("run_1", WaterPlant)
    values = {name: 0.0 for name in alarms.tags}
    assert "LIT101.HI" in alarms.tags and "P101.TRIP" in alarms.tags and "LIT101" not in alarms.tags
    assert alarms.changes({"values": values, "scan": 1}) == []
    raised = alarms.changes({"values": {**values, "LIT101.HI": 1.0}, "scan": 2, "active_attacks": ["atk_1"]})
    assert [(event, alarm["tag"], alarm["state"]) for event, alarm in raised] == [
        ("scada.alarm.raised", "LIT101.HI", "raised")
    ]
    assert raised[0][1]["description"] == "T101 high level alarm" and raised[0][1]["active_attacks"] == ["atk_1"]
    assert alarms.changes({"values": {**values, "LIT101.HI": 1.0}, "scan": 3}) == []
    cleared = alarms.changes({"values": values, "scan": 4})
    assert [(event, alarm["run_id"]) for event, alarm in cleared] == [("scada.alarm.cleared", "run_1")]
