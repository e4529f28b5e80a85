"""/v1/connectors with OpenSSH's sshd: a key-only login, the host key reported by test and
pinned, browse, import of a file and delivery of the artifact back, a file the account may not
read, and cancel mid-import."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth, wait_for
from tests.remote_servers import SftpServer, sftp_server

pytestmark = pytest.mark.xdist_group("sshd")


@pytest.fixture(scope="module")
def sshd() -> Iterator[SftpServer]:
    with sftp_server() as server:
        (server.files / "exports" / "flows.csv").write_text("t,flow\n" + "".join(f"{i},{i / 2}\n" for i in range(2000)))
        (server.files / "exports" / "recipe.csv").write_text("id,secret\n1,x\n")
        (server.files / "exports" / "recipe.csv").chmod(0o600)
        os.chmod(server.files / "readonly", 0o555)
        yield server


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
    assert imported["result"]["rows"] == 2000

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


def test_cancel_mid_import(client: FlaskClient, keys: dict[str, str], sshd: SftpServer, start_worker: Any) -> None:
    gen = auth(keys["generate"])
    big = sshd.files / "exports" / "big.csv"
    with big.open("wb") as fh:  # sparse: a gigabyte that costs no disk on the server side
        fh.write(b"t,v\n")
        fh.truncate(1 << 30)
    con = _connector(client, keys, sshd)
    start_worker("default")
    job_id = client.post(
        f"/v1/connectors/{con}/import", json={"source": {"path": "exports/big.csv"}}, headers=gen
    ).get_json()["id"]
    deadline = time.monotonic() + 60
    while "bytes read" not in (client.get(f"/v1/jobs/{job_id}", headers=gen).get_json()["message"] or ""):
        assert time.monotonic() < deadline, "the import never reported bytes read"
        time.sleep(0.2)
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=gen).status_code == 200
    done = wait_for(client, gen, job_id, {"canceled", "succeeded", "failed"})
    assert done["status"] == "canceled", done
    assert client.get("/v1/datasets", headers=gen).get_json()["count"] == 0
    big.unlink()
