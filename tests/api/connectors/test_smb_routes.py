"""/v1/connectors with Debian's smbd: test, browse, import of a file from a share and delivery
of the artifact back, and a denied delivery (cancel mid-import: test_cancel_import.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth
from tests.remote_servers import FLOWS_ROWS, SmbServer

pytestmark = pytest.mark.xdist_group("smbd")


def _connector(client: FlaskClient, keys: dict[str, str], server: SmbServer, **over: Any) -> str:
    body = {
        "name": "lab-share",
        "type": "smb",
        "settings": {"host": "127.0.0.1", "port": server.port, "share": "plant", "user": server.user} | over,
        "credentials": {"password": server.password},
    }
    made = client.post("/v1/connectors", json=body, headers=auth(keys["admin"]))
    assert made.status_code == 201, made.get_json()
    assert server.password.encode() not in made.data
    return str(made.get_json()["id"])


def test_test_browse_import_deliver(
    client: FlaskClient, keys: dict[str, str], smbd: SmbServer, inline_jobs: InlineJobs
) -> None:
    gen = auth(keys["generate"])
    missing = client.post(
        "/v1/connectors", json={"name": "x", "type": "smb", "settings": {"host": "h"}}, headers=auth(keys["admin"])
    )
    assert missing.status_code == 400 and "share" in str(missing.get_json())
    con = _connector(client, keys, smbd)
    assert client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()["ok"]
    wrong = _connector(client, keys, smbd, share="nope")
    assert client.post(f"/v1/connectors/{wrong}/test", headers=gen).get_json()["diagnosis"] == "not_found"
    listing = client.post(f"/v1/connectors/{con}/browse", json={"path": "exports"}, headers=gen).get_json()
    assert [e["name"] for e in listing["data"]] == ["flows.csv"]
    original = (smbd.files / "exports" / "flows.csv").read_bytes()
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
    over = inline_jobs.finish(client, gen, deliver({"folder": "exports", "overwrite": True}), expect=None)
    assert over["status"] == "succeeded", over["error"]
    assert (smbd.files / "exports" / "flows.csv").read_bytes() == original
