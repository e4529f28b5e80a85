"""/v1/connectors with Debian's InfluxDB 1.x: the test diagnoses, browse, import of a measurement
and delivery of the artifact back as points, and a database the account may not read (cancel
mid-import: test_cancel_import.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth
from tests.connector_servers import _free_port
from tests.remote_servers import InfluxServer

pytestmark = pytest.mark.xdist_group("influxdb")


def _connector(client: FlaskClient, keys: dict[str, str], server: InfluxServer, **over: Any) -> str:
    body = {
        "name": "historian",
        "type": "influxdb",
        "settings": {"url": server.url, "database": "site"} | over.pop("settings", {}),
        "credentials": {"username": "historian", "password": over.pop("password", "historian-pw")},
    }
    made = client.post("/v1/connectors", json=body, headers=auth(keys["admin"]))
    assert made.status_code == 201, made.get_json()
    assert b"historian-pw" not in made.data
    return str(made.get_json()["id"])


def test_diagnoses(client: FlaskClient, keys: dict[str, str], influx: InfluxServer) -> None:
    gen = auth(keys["generate"])
    cases = {
        "auth": {"password": "wrong-password-xyz"},
        "refused": {"settings": {"url": f"http://127.0.0.1:{_free_port()}"}},
        "permission": {"settings": {"database": "secret"}},
    }
    for diagnosis, over in cases.items():
        con = _connector(client, keys, influx, **over)
        answer = client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()
        assert answer["ok"] is False and answer["diagnosis"] == diagnosis, answer
        assert "wrong-password-xyz" not in str(answer)
    outside = client.post(
        "/v1/connectors",
        json={"name": "x", "type": "influxdb", "settings": {"url": "http://8.8.8.8:8086", "database": "site"}},
        headers=auth(keys["admin"]),
    )
    assert outside.status_code == 400 and outside.get_json()["error"]["code"] == "CONNECTOR_TARGET_NOT_ALLOWED"


def test_browse_import_deliver_round_trip(
    client: FlaskClient, keys: dict[str, str], influx: InfluxServer, inline_jobs: InlineJobs
) -> None:
    gen = auth(keys["generate"])
    con = _connector(client, keys, influx)
    assert client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()["ok"]
    measurements = client.post(f"/v1/connectors/{con}/browse", json={"path": "site"}, headers=gen).get_json()
    assert {"flow", "vib"} <= {e["name"] for e in measurements["data"]}
    job_id = client.post(
        f"/v1/connectors/{con}/import", json={"source": {"measurement": "flow"}, "name": "flow"}, headers=gen
    ).get_json()["id"]
    imported = inline_jobs.finish(client, gen, job_id)
    assert imported["result"]["rows"] == 2000
    delivered = client.post(
        f"/v1/connectors/{con}/deliver",
        json={"job_id": job_id, "artifacts": ["flow.csv"], "target": {"measurement": "flow_copy", "tags": ["line"]}},
        headers=gen,
    )
    assert delivered.status_code == 202, delivered.get_json()
    assert inline_jobs.finish(client, gen, delivered.get_json()["id"])["status"] == "succeeded"
    copy = influx.query("SELECT count(value) FROM flow_copy GROUP BY line", "site")
    counts = [s["values"][0][1] for s in copy["results"][0]["series"]]  # type: ignore[index]
    assert counts == [1000, 1000]
