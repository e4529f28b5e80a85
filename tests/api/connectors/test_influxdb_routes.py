"""/v1/connectors with Debian's InfluxDB 1.x: the test diagnoses, browse, import of a measurement
and delivery of the artifact back as points, a database the account may not read, and cancel
mid-import."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth, wait_for
from tests.connector_servers import _free_port
from tests.remote_servers import InfluxServer, influxdb_server

pytestmark = pytest.mark.xdist_group("influxdb")

T0 = 1_700_000_000 * 10**9


@pytest.fixture(scope="module")
def influx() -> Iterator[InfluxServer]:
    with influxdb_server() as server:
        for statement in (
            "CREATE DATABASE plant",
            "CREATE DATABASE secret",
            "CREATE USER historian WITH PASSWORD 'historian-pw'",
            "GRANT ALL ON plant TO historian",
        ):
            server.query(statement)
        server.write("plant", "\n".join(f"flow,line=L{i % 2} value={i / 2} {T0 + i * 10**9}" for i in range(2000)))
        for part in range(4):  # 400 000 points: an import that runs long enough to be canceled
            lines = (f"vib,axis=x{i % 3} g={i * 0.001} {T0 + (part * 100_000 + i) * 10**6}" for i in range(100_000))
            server.write("plant", "\n".join(lines))
        yield server


def _connector(client: FlaskClient, keys: dict[str, str], server: InfluxServer, **over: Any) -> str:
    body = {
        "name": "historian",
        "type": "influxdb",
        "settings": {"url": server.url, "database": "plant"} | over.pop("settings", {}),
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
        json={"name": "x", "type": "influxdb", "settings": {"url": "http://8.8.8.8:8086", "database": "plant"}},
        headers=auth(keys["admin"]),
    )
    assert outside.status_code == 400 and outside.get_json()["error"]["code"] == "CONNECTOR_TARGET_NOT_ALLOWED"


def test_browse_import_deliver_round_trip(
    client: FlaskClient, keys: dict[str, str], influx: InfluxServer, inline_jobs: InlineJobs
) -> None:
    gen = auth(keys["generate"])
    con = _connector(client, keys, influx)
    assert client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()["ok"]
    measurements = client.post(f"/v1/connectors/{con}/browse", json={"path": "plant"}, headers=gen).get_json()
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
    copy = influx.query("SELECT count(value) FROM flow_copy GROUP BY line", "plant")
    counts = [s["values"][0][1] for s in copy["results"][0]["series"]]  # type: ignore[index]
    assert counts == [1000, 1000]


def test_cancel_mid_import(client: FlaskClient, keys: dict[str, str], influx: InfluxServer, start_worker: Any) -> None:
    gen = auth(keys["generate"])
    con = _connector(client, keys, influx)
    start_worker("default")
    job_id = client.post(
        f"/v1/connectors/{con}/import", json={"source": {"measurement": "vib"}}, headers=gen
    ).get_json()["id"]
    deadline = time.monotonic() + 60
    while "bytes read" not in (client.get(f"/v1/jobs/{job_id}", headers=gen).get_json()["message"] or ""):
        assert time.monotonic() < deadline, "the import never reported bytes read"
        time.sleep(0.1)
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=gen).status_code == 200
    done = wait_for(client, gen, job_id, {"canceled", "succeeded", "failed"})
    assert done["status"] == "canceled", done
    assert client.get("/v1/datasets", headers=gen).get_json()["count"] == 0
