"""/v1/connectors with the appliance's own OPC UA simulator as the source: tags recorded by
subscription into a dataset, a secured session whose client certificate an admin trusts in the
appliance's trust list, a time range imported by HistoryRead, and the bad inputs of an OPC UA
connector and source."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth, free_port
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


def test_secured_history_import(
    client: FlaskClient, keys: dict[str, str], state_dir: Path, tmp_path: Path, inline_jobs: InlineJobs
) -> None:
    """Aes256_Sha256_RsaPss with the connector's own certificate: refused until an admin trusts it
    in the appliance's trust list, kept across a password rotation, then a range imported by
    HistoryRead in pages."""
    from asyncua import ua

    from appliance.services import opcua_certs
    from simulators.protocols.opcua_auth import OpcUaSecurity, Role

    def authenticate(user: str, password: str, _source: str) -> Role | None:
        return Role.VIEWER if (user, password) == ("historian", "historian-pw") else None

    security = OpcUaSecurity(
        allow_none=False,
        sign_encrypt=True,
        cert_dir=tmp_path / "server",
        authenticate=authenticate,
        pki_dir=opcua_certs.pki_dir(state_dir),
    )
    plant = RunningPlant(security=security, history_values=5000)
    admin, gen = auth(keys["admin"]), auth(keys["generate"])
    try:
        made = client.post(
            "/v1/connectors",
            json={
                "name": "historian",
                "type": "opcua",
                "settings": {"endpoint_url": plant.server.endpoint, "security_policy": "Aes256_Sha256_RsaPss"},
                "credentials": {"username": "historian", "password": "historian-pw"},
            },
            headers=admin,
        )
        view = made.get_json()
        assert made.status_code == 201 and view["has_credentials"], view
        assert view["settings"]["security_mode"] == "SignAndEncrypt" and "client_private_key" not in made.text
        con = view["id"]
        first = client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()
        assert not first["ok"] and first["diagnosis"] == "tls", first
        found = re.search(r"thumbprint ([0-9A-F]{40})", first["message"])
        assert found is not None
        thumbprint = found.group(1)
        assert client.post(f"/v1/scada/opcua/certificates/{thumbprint}/trust", headers=admin).status_code == 200
        second = client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()
        assert second["ok"] and second["details"]["client_certificate"]["thumbprint"] == thumbprint, second
        for password, ok in (("not-it", False), ("historian-pw", True)):  # the certificate stays what was trusted
            rotated = client.post(
                f"/v1/connectors/{con}/credentials",
                json={"credentials": {"username": "historian", "password": password}},
                headers=admin,
            )
            assert rotated.status_code == 200
            answer = client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()
            assert answer["ok"] is ok and (ok or answer["diagnosis"] == "auth"), answer
        ns, history = plant.server.namespace_index(), plant.server.history
        assert history is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and history.count(ua.NodeId("LIT101", ns)) < 6:  # type: ignore[arg-type]
            time.sleep(0.1)
        body = {
            "source": {
                "nodes": [f"ns={ns};s=LIT101"],
                "mode": "history",
                "start": "2024-01-01T00:00:00Z",
                "page_values": 2,
            }
        }
        job_id = client.post(f"/v1/connectors/{con}/import", json=body, headers=gen).get_json()["id"]
        job = inline_jobs.finish(client, gen, job_id)
        assert job["status"] == "succeeded", job
        assert job["result"]["rows"] >= 6
        listed = client.get(f"/v1/artifacts?job_id={job_id}", headers=gen).get_json()["data"]
        record = json.loads(
            client.get(
                f"/v1/artifacts/{next(a['id'] for a in listed if a['name'] == 'import.json')}/download", headers=gen
            ).data
        )
        assert record["source"]["read"]["pages"] >= 3 and record["source"]["read"]["values"] == job["result"]["rows"]
        renewed = client.post(
            f"/v1/connectors/{con}/credentials",
            json={"credentials": {"username": "historian", "password": "historian-pw", "new_client_certificate": True}},
            headers=admin,
        )
        assert renewed.status_code == 200
        fresh = client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()
        assert fresh["diagnosis"] == "tls" and thumbprint not in fresh["message"], fresh  # a new one, not trusted yet
    finally:
        plant.close()


def test_bad_security_settings(client: FlaskClient, keys: dict[str, str]) -> None:
    admin = auth(keys["admin"])
    plain = client.post(
        "/v1/connectors",
        json={"name": "x", "type": "opcua", "settings": {"endpoint_url": "opc.tcp://127.0.0.1:4840/"}},
        headers=admin,
    ).get_json()
    assert not plain["has_credentials"]  # anonymous over None: nothing to keep
    secured = client.patch(
        f"/v1/connectors/{plain['id']}",
        json={"settings": {"endpoint_url": "opc.tcp://127.0.0.1:4840/", "security_policy": "Basic256Sha256"}},
        headers=admin,
    ).get_json()
    assert secured["has_credentials"] and secured["settings"]["security_mode"] == "SignAndEncrypt"  # a key pair made
    for settings, field in (
        ({"security_policy": "Basic128Rsa15"}, "settings.security_policy"),
        ({"security_policy": "None", "security_mode": "Sign"}, "settings.security_mode"),
        (
            {"security_policy": "Basic256Sha256", "server_certificate_sha256": "abc"},
            "settings.server_certificate_sha256",
        ),
    ):
        answer = client.post(
            "/v1/connectors",
            json={"name": "x", "type": "opcua", "settings": {"endpoint_url": "opc.tcp://127.0.0.1:4840/", **settings}},
            headers=admin,
        )
        assert answer.status_code == 400 and field in {d["field"] for d in answer.get_json()["error"]["details"]}
    half = client.post(
        "/v1/connectors",
        json={
            "name": "x",
            "type": "opcua",
            "settings": {"endpoint_url": "opc.tcp://127.0.0.1:4840/"},
            "credentials": {"client_certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
        },
        headers=admin,
    )
    assert half.status_code == 400 and "credentials.client_certificate" in {
        d["field"] for d in half.get_json()["error"]["details"]
    }


@pytest.mark.heavy
def test_history_of_a_live_run(
    client: FlaskClient, keys: dict[str, str], start_worker: Any, inline_jobs: InlineJobs
) -> None:
    """A live run keeps history (`[scada] opcua_history_values`), so the appliance's own OPC UA
    connector imports a range of it through the `sim` worker's real server."""
    start_worker("sim")
    gen = auth(keys["generate"])
    started = client.post(
        "/v1/scada/runs",
        json={"plant": "water", "speed": 10, "opcua": {"port": free_port(), "security": "none"}},
        headers=gen,
    )
    assert started.status_code == 202, started.get_json()
    run_id = started.get_json()["id"]
    try:
        deadline, run = time.monotonic() + 60, started.get_json()
        while run["status"] != "running" and time.monotonic() < deadline:
            time.sleep(0.2)
            run = client.get(f"/v1/scada/runs/{run_id}", headers=gen).get_json()
        assert run["status"] == "running", run
        made = client.post(
            "/v1/connectors",
            json={"name": "run", "type": "opcua", "settings": {"endpoint_url": run["opcua"]["endpoint"]}},
            headers=auth(keys["admin"]),
        )
        con = made.get_json()["id"]
        time.sleep(2.0)  # twenty scans at x10
        # at x10 the plant's clock runs ahead of the wall clock: the range names its end
        source = {
            "nodes": ["ns=2;s=LIT101"],
            "mode": "history",
            "start": "2000-01-01T00:00:00Z",
            "end": "2100-01-01T00:00:00Z",
        }
        job_id = client.post(f"/v1/connectors/{con}/import", json={"source": source}, headers=gen).get_json()["id"]
        job = inline_jobs.finish(client, gen, job_id)
        assert job["status"] == "succeeded" and job["result"]["rows"] >= 10, job
    finally:
        client.post(f"/v1/scada/runs/{run_id}/stop", headers=gen)
