"""/v1/connectors with the appliance's own OPC UA simulator as the source: tags recorded by
subscription into a dataset, and the bad inputs of an OPC UA connector and source."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth
from tests.connector_servers import RunningPlant


@pytest.fixture(scope="module")
def running() -> Iterator[RunningPlant]:
    plant = RunningPlant()
    yield plant
    plant.close()


def test_record_tags_into_a_dataset(
    client: FlaskClient, keys: dict[str, str], running: RunningPlant, inline_jobs: InlineJobs
) -> None:
    gen = auth(keys["generate"])
    made = client.post(
        "/v1/connectors",
        json={"name": "scada", "type": "opcua", "settings": {"endpoint_url": running.server.endpoint}},
        headers=auth(keys["admin"]),
    )
    assert made.status_code == 201, made.get_json()
    con = made.get_json()["id"]
    assert client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()["ok"]
    top = client.get(f"/v1/connectors/{con}/browse", headers=gen).get_json()
    assert "water" in {e["name"] for e in top["data"]}
    ns = running.server.namespace_index()
    body = {"source": {"nodes": [f"ns={ns};s=LIT101"], "duration_s": 1.0, "publishing_interval_ms": 100}}
    job = inline_jobs.finish(
        client, gen, client.post(f"/v1/connectors/{con}/import", json=body, headers=gen).get_json()["id"]
    )
    dataset = client.get(f"/v1/datasets/{job['result']['dataset_id']}", headers=gen).get_json()
    assert dataset["rows"] >= 2 and [c["name"] for c in dataset["columns"]] == [
        "time",
        "node",
        "name",
        "value",
        "status",
    ]
    bad = client.post(f"/v1/connectors/{con}/import", json={"source": {"nodes": [], "duration_s": 0}}, headers=gen)
    fields = {d["field"] for d in bad.get_json()["error"]["details"]}
    assert bad.status_code == 400 and {"source.nodes", "source.duration_s"} <= fields


def test_bad_endpoint(client: FlaskClient, keys: dict[str, str]) -> None:
    admin = auth(keys["admin"])
    for url, code in (
        ("http://127.0.0.1:4840/", "VALIDATION_FAILED"),
        ("opc.tcp://8.8.8.8:4840/", "CONNECTOR_TARGET_NOT_ALLOWED"),
    ):
        answer = client.post(
            "/v1/connectors", json={"name": "x", "type": "opcua", "settings": {"endpoint_url": url}}, headers=admin
        )
        assert answer.status_code == 400 and answer.get_json()["error"]["code"] == code
