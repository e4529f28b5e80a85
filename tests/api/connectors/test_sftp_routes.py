"""/v1/connectors with OpenSSH's sshd: a key-only login, the host key reported by test and
pinned, browse, import of a file and delivery of the artifact back, a file the account may not
read (cancel mid-import: test_cancel_import.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth
from tests.remote_servers import FLOWS_ROWS, SftpServer

pytestmark = pytest.mark.xdist_group("sshd")


def _connector(client: FlaskClient, keys: dict[str, str], server: SftpServer, **settings: Any) -> str:
    body = {
        "name": "historian-export",
        "type": "sftp",
        "settings": {"host": "127.0.0.1", "port": server.port, "user": server.user, "folder": str(server.files)}
        | settings,
        "credentials": {"private_key": server.private_key},
    }
    made = client.post("/v1/connectors", json=body, headers=auth(keys["admin"]))
    assert made.status_code == 201, made.get_json()
    assert b"PRIVATE KEY" not in made.data
    return str(made.get_json()["id"])


def test_bad_settings_and_credentials(client: FlaskClient, keys: dict[str, str]) -> None:
    base = {"name": "x", "type": "sftp", "settings": {"host": "h", "user": "u"}}
    no_secret = client.post("/v1/connectors", json=base | {"credentials": {}}, headers=auth(keys["admin"]))
    assert no_secret.status_code == 400
    bad_pin = client.post(
        "/v1/connectors",
        json=base
        | {"settings": {"host": "h", "user": "u", "host_key_sha256": "md5:zz"}, "credentials": {"password": "p"}},
        headers=auth(keys["admin"]),
    )
    assert bad_pin.status_code == 400


def test_test_browse_import_deliver(
    client: FlaskClient, keys: dict[str, str], sshd: SftpServer, inline_jobs: InlineJobs
) -> None:
    gen = auth(keys["generate"])
    con = _connector(client, keys, sshd, host_key_sha256=sshd.host_key_sha256)
    tested = client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()
    assert tested["ok"] and tested["details"]["host_key_sha256"] == sshd.host_key_sha256
    listing = client.post(f"/v1/connectors/{con}/browse", json={"path": "exports"}, headers=gen).get_json()
    assert [e["name"] for e in listing["data"]] == ["flows.csv", "recipe.csv"]
    original = (sshd.files / "exports" / "flows.csv").read_bytes()
    job_id = client.post(
        f"/v1/connectors/{con}/import",
        json={"source": {"path": "exports/flows.csv"}, "name": "flows"},
        headers=gen,
    ).get_json()["id"]
    imported = inline_jobs.finish(client, gen, job_id)
    assert imported["result"]["rows"] == FLOWS_ROWS

    def deliver(target: dict[str, Any]) -> dict[str, Any]:
        made = client.post(
            f"/v1/connectors/{con}/deliver",
            json={"job_id": job_id, "artifacts": ["flows.csv"], "target": target},
            headers=gen,
        )
        assert made.status_code == 202, made.get_json()
        return dict(made.get_json())

    failed = inline_jobs.finish(client, gen, deliver({"folder": "exports"})["id"], expect="failed")
    assert "exists" in failed["error"]["message"]  # an existing file is kept
    no_folder = inline_jobs.finish(client, gen, deliver({"folder": "nope"})["id"], expect="failed")
    assert no_folder["error"]["message"].startswith("not_found")
    if sshd.user != "root":
        denied = inline_jobs.finish(client, gen, deliver({"folder": "readonly"})["id"], expect="failed")
        assert denied["error"]["message"].startswith("permission")
    inline_jobs.finish(client, gen, deliver({"folder": "exports", "overwrite": True})["id"])
    assert (sshd.files / "exports" / "flows.csv").read_bytes() == original


def test_denied_and_pinned_key_mismatch(
    client: FlaskClient, keys: dict[str, str], sshd: SftpServer, inline_jobs: InlineJobs
) -> None:
    gen = auth(keys["generate"])
    if sshd.user != "root":
        con = _connector(client, keys, sshd)
        job_id = client.post(
            f"/v1/connectors/{con}/import", json={"source": {"path": "exports/recipe.csv"}}, headers=gen
        ).get_json()["id"]
        failed = inline_jobs.finish(client, gen, job_id, expect="failed")
        assert failed["error"]["code"] == "CONNECTOR_FAILED" and failed["error"]["message"].startswith("permission")
    pinned = _connector(client, keys, sshd, host_key_sha256="SHA256:" + "B" * 43)
    answer = client.post(f"/v1/connectors/{pinned}/test", headers=gen).get_json()
    assert answer["ok"] is False and answer["diagnosis"] == "tls"
