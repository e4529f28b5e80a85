"""/v1/connectors with an FTPS server: settings checked, test over TLS with the plant's CA,
browse, import of a file and its delivery back, a denied import and delivery
(cancel mid-import: test_cancel_import.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth
from tests.remote_servers import FLOWS_ROWS, FtpServer

pytestmark = pytest.mark.xdist_group("ftpd")


def _connector(client: FlaskClient, keys: dict[str, str], server: FtpServer, **settings: Any) -> str:
    body = {
        "name": "line-3-ftp",
        "type": "ftp",
        "settings": {"host": "127.0.0.1", "port": server.port, "user": "plant", "ca_certificate": server.certificate}
        | settings,
        "credentials": {"password": server.users["plant"]},
    }
    made = client.post("/v1/connectors", json=body, headers=auth(keys["admin"]))
    assert made.status_code == 201, made.get_json()
    assert server.users["plant"].encode() not in made.data
    return str(made.get_json()["id"])


def test_bad_settings(client: FlaskClient, keys: dict[str, str]) -> None:
    bad = client.post(
        "/v1/connectors",
        json={"name": "x", "type": "ftp", "settings": {"host": "h", "tls": "implicit"}, "credentials": {}},
        headers=auth(keys["admin"]),
    )
    assert bad.status_code == 400 and "tls" in str(bad.get_json())


def test_test_browse_import_deliver(
    client: FlaskClient, keys: dict[str, str], ftpd: FtpServer, inline_jobs: InlineJobs
) -> None:
    gen = auth(keys["generate"])
    con = _connector(client, keys, ftpd)
    tested = client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()
    assert tested["ok"] and tested["details"]["tls"] is True
    untrusted = _connector(client, keys, ftpd, ca_certificate=None)
    assert client.post(f"/v1/connectors/{untrusted}/test", headers=gen).get_json()["diagnosis"] == "tls"
    listing = client.post(f"/v1/connectors/{con}/browse", json={"path": "exports"}, headers=gen).get_json()
    assert [e["name"] for e in listing["data"]] == ["flows.csv"]
    original = (ftpd.files / "exports" / "flows.csv").read_bytes()
    job_id = client.post(
        f"/v1/connectors/{con}/import", json={"source": {"path": "exports/flows.csv"}, "name": "flows"}, headers=gen
    ).get_json()["id"]
    assert inline_jobs.finish(client, gen, job_id)["result"]["rows"] == FLOWS_ROWS

    def deliver(target: dict[str, Any]) -> str:
        made = client.post(
            f"/v1/connectors/{con}/deliver",
            json={"job_id": job_id, "artifacts": ["flows.csv"], "target": target},
            headers=gen,
        )
        assert made.status_code == 202, made.get_json()
        return str(made.get_json()["id"])

    denied = inline_jobs.finish(client, gen, deliver({"folder": "readonly"}), expect="failed")
    assert denied["error"]["message"].startswith("permission")
    kept = inline_jobs.finish(client, gen, deliver({"folder": "exports"}), expect="failed")
    assert "exists" in kept["error"]["message"]
    inline_jobs.finish(client, gen, deliver({"folder": "readonly/../exports", "overwrite": True}))
    assert (ftpd.files / "exports" / "flows.csv").read_bytes() == original
    secret = client.post(
        f"/v1/connectors/{con}/import", json={"source": {"path": "secret/recipe.csv"}}, headers=gen
    ).get_json()["id"]
    failed = inline_jobs.finish(client, gen, secret, expect="failed")
    assert failed["error"]["code"] == "CONNECTOR_FAILED" and failed["error"]["message"].startswith("permission")
