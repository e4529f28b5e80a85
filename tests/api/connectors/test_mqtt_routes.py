"""/v1/connectors with mosquitto: a topic window recorded into a dataset, a dataset's rows
delivered as messages, and the bad inputs of an MQTT target."""

from __future__ import annotations

import threading
import time

import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth
from tests.connector_servers import MqttBroker

pytestmark = pytest.mark.xdist_group("mqtt")


def test_record_and_deliver(
    client: FlaskClient, keys: dict[str, str], broker: MqttBroker, inline_jobs: InlineJobs
) -> None:
    assert broker.users is not None
    gen = auth(keys["generate"])
    made = client.post(
        "/v1/connectors",
        json={
            "name": "broker",
            "type": "mqtt",
            "settings": {"host": "127.0.0.1", "port": broker.port},
            "credentials": {"username": "plant", "password": broker.users["plant"]},
        },
        headers=auth(keys["admin"]),
    )
    assert made.status_code == 201 and broker.users["plant"].encode() not in made.data
    con = made.get_json()["id"]
    assert client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()["ok"]
    job_id = client.post(
        f"/v1/connectors/{con}/import",
        json={"source": {"topics": ["plant/api/#"], "duration_s": 5, "max_messages": 3}},
        headers=gen,
    ).get_json()["id"]
    feeder = threading.Thread(target=lambda: (time.sleep(1.0), broker.publish("plant/api/level", ["1", "2", "3"])))
    feeder.start()
    job = inline_jobs.finish(client, gen, job_id)
    feeder.join()
    assert job["result"]["rows"] == 3
    delivered = client.post(
        f"/v1/connectors/{con}/deliver",
        json={
            "job_id": job_id,
            "artifacts": [
                next(
                    a["name"]
                    for a in client.get(f"/v1/artifacts?job_id={job_id}", headers=gen).get_json()["data"]
                    if a["name"].endswith(".csv")
                )
            ],
            "target": {"topic": "plant/api/replay"},
        },
        headers=gen,
    )
    done = inline_jobs.finish(client, gen, delivered.get_json()["id"])
    assert done["result"]["delivered"] == 1
    bad = client.post(
        f"/v1/connectors/{con}/deliver", json={"job_id": job_id, "target": {"topic": "plant/#"}}, headers=gen
    )
    assert bad.status_code == 400 and bad.get_json()["error"]["details"][0]["field"] == "target.topic"
