"""/v1/connectors with mosquitto and a Sparkplug B edge node: a window of metrics recorded into a
dataset (aliases resolved from the births), what was skipped counted in `import.json`, the
recording delivered back as an edge node of its own, and the bad inputs of a source and target."""

from __future__ import annotations

import json
import threading
import time

import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth
from tests.connector_servers import MqttBroker
from tests.sparkplug_node import BIRTH_MS, EdgeNode

pytestmark = pytest.mark.xdist_group("mqtt")


def test_record_metrics_into_a_dataset(
    client: FlaskClient, keys: dict[str, str], broker: MqttBroker, inline_jobs: InlineJobs
) -> None:
    assert broker.users is not None
    gen = auth(keys["generate"])
    made = client.post(
        "/v1/connectors",
        json={
            "name": "edge",
            "type": "sparkplug_b",
            "settings": {"host": "127.0.0.1", "port": broker.port, "browse_s": 1},
            "credentials": {"username": "plant", "password": broker.users["plant"]},
        },
        headers=auth(keys["admin"]),
    )
    assert made.status_code == 201, made.get_json()
    con = made.get_json()["id"]
    assert client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()["ok"]
    job_id = client.post(
        f"/v1/connectors/{con}/import",
        json={"source": {"group": "plant1", "duration_s": 20, "max_messages": 4}},
        headers=gen,
    ).get_json()["id"]
    node = EdgeNode(broker)

    def publish() -> None:
        time.sleep(1.0)  # the job subscribes first
        node.births()
        node.send(node.topic("DDATA", "pump1"), b"\xff\xfe")
        node.device_data(4.5, BIRTH_MS + 1000)

    feeder = threading.Thread(target=publish)
    feeder.start()
    try:
        job = inline_jobs.finish(client, gen, job_id)
    finally:
        feeder.join()
        node.close()
    assert job["status"] == "succeeded", job
    dataset = client.get(f"/v1/datasets/{job['result']['dataset_id']}", headers=gen).get_json()
    assert dataset["rows"] == 3 + 5 + 2
    assert [c["name"] for c in dataset["columns"]] == [
        "time",
        "group",
        "node",
        "device",
        "message",
        "metric",
        "datatype",
        "value",
        "text",
    ]
    listed = client.get(f"/v1/artifacts?job_id={job_id}", headers=gen).get_json()["data"]
    record_id = next(a["id"] for a in listed if a["name"] == "import.json")
    record = json.loads(client.get(f"/v1/artifacts/{record_id}/download", headers=gen).data)
    assert record["source"]["counts"]["undecodable"] == 1 and record["source"]["counts"]["rows"] == 10
    recording = next(a["name"] for a in listed if a["name"].endswith(".csv"))
    delivered = client.post(
        f"/v1/connectors/{con}/deliver",
        json={
            "job_id": job_id,
            "artifacts": [recording],
            "target": {"group": "replay", "node": "sealforge", "device": "recording", "time_column": "time"},
        },
        headers=gen,
    )
    assert delivered.status_code == 202, delivered.get_json()
    done = inline_jobs.finish(client, gen, delivered.get_json()["id"])
    assert done["status"] == "succeeded" and done["result"]["delivered"] == 1, done


def test_bad_sources(client: FlaskClient, keys: dict[str, str], broker: MqttBroker) -> None:
    gen = auth(keys["generate"])
    con = client.post(
        "/v1/connectors",
        json={"name": "edge", "type": "sparkplug_b", "settings": {"host": "127.0.0.1", "port": broker.port}},
        headers=auth(keys["admin"]),
    ).get_json()["id"]
    bad = client.post(
        f"/v1/connectors/{con}/import",
        json={"source": {"group": "a/b", "node": "#", "qos": 2, "duration_s": 0}},
        headers=gen,
    )
    fields = {d["field"] for d in bad.get_json()["error"]["details"]}
    assert bad.status_code == 400 and {"source.group", "source.node", "source.qos", "source.duration_s"} <= fields
    refused = client.post(
        f"/v1/connectors/{con}/deliver", json={"job_id": "job_" + "0" * 26, "target": {"node": "a/b"}}, headers=gen
    )
    assert refused.status_code == 400 and {"target.group", "target.node"} <= {
        d["field"] for d in refused.get_json()["error"]["details"]
    }
    unknown = client.post(
        "/v1/connectors",
        json={"name": "x", "type": "sparkplug_b", "settings": {"host": "127.0.0.1", "browse_s": 600}},
        headers=auth(keys["admin"]),
    )
    assert unknown.status_code == 400 and "settings.browse_s" in {
        d["field"] for d in unknown.get_json()["error"]["details"]
    }
