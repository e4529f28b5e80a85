"""/v1/connectors with a real MariaDB: the test diagnoses, browse, import and delivery as jobs
(a table delivered back reads the same bytes) and a denied import (cancel mid-import:
test_cancel_import.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth
from tests.connector_servers import _free_port
from tests.remote_servers import MYSQL_API_PASSWORD as PASSWORD
from tests.remote_servers import MariaServer

pytestmark = pytest.mark.xdist_group("mariadb")


def _connector(client: FlaskClient, keys: dict[str, str], server: MariaServer, **over: Any) -> str:
    settings = {"host": "127.0.0.1", "port": server.port, "database": "mes", "user": "plant_api", "tls": "disable"}
    body = {
        "name": "mes",
        "type": "mysql",
        "settings": {**settings, **over.pop("settings", {})},
        "credentials": {"password": over.pop("password", PASSWORD)},
    }
    made = client.post("/v1/connectors", json=body, headers=auth(keys["admin"]))
    assert made.status_code == 201, made.get_json()
    assert PASSWORD.encode() not in made.data
    return str(made.get_json()["id"])


def test_listed_available_and_settings_checked(client: FlaskClient, keys: dict[str, str]) -> None:
    types = client.get("/v1/connectors/types", headers=auth(keys["admin"])).get_json()["data"]
    assert next(t for t in types if t["type"] == "mysql")["available"] is True
    bad = client.post(
        "/v1/connectors",
        json={"name": "x", "type": "mysql", "settings": {"host": "h", "database": "d", "user": "u", "tls": "maybe"}},
        headers=auth(keys["admin"]),
    )
    assert bad.status_code == 400 and "tls" in json.dumps(bad.get_json())


def test_diagnoses(client: FlaskClient, keys: dict[str, str], maria: MariaServer) -> None:
    gen = auth(keys["generate"])
    cases = {
        "refused": {"settings": {"port": _free_port()}},
        "auth": {"password": "wrong-password-xyz"},
        "permission": {"settings": {"database": "mysql"}},
        "dns": {"settings": {"host": "no-such-host.invalid"}},
    }
    for diagnosis, over in cases.items():
        con = _connector(client, keys, maria, **over)
        answer = client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()
        assert answer["ok"] is False and answer["diagnosis"] == diagnosis, answer
        assert "wrong-password-xyz" not in json.dumps(answer)
    ok = client.post(f"/v1/connectors/{_connector(client, keys, maria)}/test", headers=gen).get_json()
    assert ok["ok"] and ok["details"]["user"] == "plant_api@%"


def test_browse_import_deliver_round_trip(
    client: FlaskClient, keys: dict[str, str], maria: MariaServer, inline_jobs: InlineJobs
) -> None:
    gen = auth(keys["generate"])
    con = _connector(client, keys, maria)
    databases = client.get(f"/v1/connectors/{con}/browse", headers=gen).get_json()
    assert [e["name"] for e in databases["data"]] == ["delivered", "mes"]
    tables = client.post(f"/v1/connectors/{con}/browse", json={"path": "mes"}, headers=gen).get_json()
    assert [(e["name"], e["kind"]) for e in tables["data"]] == [("batches", "table"), ("endless", "view")]
    job_id = client.post(
        f"/v1/connectors/{con}/import", json={"source": {"table": "batches"}, "name": "batches"}, headers=gen
    ).get_json()["id"]
    imported = inline_jobs.finish(client, gen, job_id)
    assert imported["result"]["rows"] == 2000
    delivered = client.post(
        f"/v1/connectors/{con}/deliver",
        json={
            "job_id": job_id,
            "artifacts": ["batches.csv"],
            "target": {"database": "delivered", "table": "batches", "mode": "create"},
        },
        headers=gen,
    )
    assert delivered.status_code == 202, delivered.get_json()
    inline_jobs.finish(client, gen, delivered.get_json()["id"])
    again = client.post(
        f"/v1/connectors/{con}/import",
        json={"source": {"database": "delivered", "table": "batches"}, "name": "batches"},
        headers=gen,
    ).get_json()["id"]
    assert inline_jobs.finish(client, gen, again)["result"]["sha256"] == imported["result"]["sha256"]


def test_permission_denied_import_fails_with_diagnosis(
    client: FlaskClient, keys: dict[str, str], maria: MariaServer, inline_jobs: InlineJobs
) -> None:
    gen = auth(keys["generate"])
    con = _connector(client, keys, maria)
    job_id = client.post(
        f"/v1/connectors/{con}/import", json={"source": {"table": "secret_recipes"}}, headers=gen
    ).get_json()["id"]
    failed = inline_jobs.finish(client, gen, job_id, expect="failed")
    assert failed["error"]["code"] == "CONNECTOR_FAILED" and failed["error"]["message"].startswith("permission")
