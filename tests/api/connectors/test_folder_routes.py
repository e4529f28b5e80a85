"""/v1/connectors with a folder and a SQLite file: the resource, its bad inputs, and import and
delivery as sealed jobs whose datasets pass the upload validator."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth


@pytest.fixture(autouse=True)  # before `app`, which reads app_config
def mnt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app_config: dict[str, Any]) -> Path:
    root = tmp_path / "mnt"
    (root / "usb").mkdir(parents=True)
    (root / "usb" / "flows.csv").write_text("t,flow\n1,2.5\n2,2.7\n3,2.9\n")
    (root / "usb" / "ragged.csv").write_text("a,b\n1,2\n3\n")
    monkeypatch.setenv("SEALFORGE_CONNECTORS_FOLDER_ROOTS", str(root))  # the worker side (kinds) reads it
    app_config["connectors"] = {"folder_roots": [str(root)]}
    return root


def _create(client: FlaskClient, keys: dict[str, str], body: dict[str, Any]) -> Any:
    return client.post("/v1/connectors", json=body, headers=auth(keys["admin"]))


def _folder(client: FlaskClient, keys: dict[str, str], mnt: Path) -> dict[str, Any]:
    made = _create(client, keys, {"name": "usb", "type": "folder", "settings": {"path": str(mnt / "usb")}})
    assert made.status_code == 201, made.get_json()
    body: dict[str, Any] = made.get_json()
    return body


def test_resource_lifecycle(client: FlaskClient, keys: dict[str, str], mnt: Path) -> None:
    admin, read = auth(keys["admin"]), auth(keys["read"])
    first = _folder(client, keys, mnt)
    assert first["id"].startswith("con_") and first["settings"] == {"path": str(mnt / "usb")}
    assert first["has_credentials"] is False and first["last_test"] is None
    second = _folder(client, keys, mnt)
    page = client.get("/v1/connectors?limit=1", headers=read).get_json()
    assert page["count"] == 1 and page["has_more"] and page["next_after"] == first["id"]
    rest = client.get(f"/v1/client/connectors?limit=1&after={page['next_after']}", headers=read).get_json()
    assert [c["id"] for c in rest["data"]] == [second["id"]] and rest["has_more"] is False
    renamed = client.patch(f"/v1/connectors/{first['id']}", json={"name": "stick"}, headers=admin).get_json()
    assert renamed["name"] == "stick"
    tested = client.post(f"/v1/connectors/{first['id']}/test", headers=auth(keys["generate"])).get_json()
    assert tested["ok"] and tested["details"]["readable"]
    assert client.get(f"/v1/connectors/{first['id']}", headers=read).get_json()["last_test"]["ok"]
    listing = client.get(f"/v1/connectors/{first['id']}/browse", headers=read)
    assert listing.status_code == 403
    browsed = client.post(f"/v1/connectors/{first['id']}/browse", json={"limit": 1}, headers=auth(keys["generate"]))
    assert browsed.get_json()["data"][0]["name"] == "flows.csv" and browsed.get_json()["has_more"]
    assert client.delete(f"/v1/connectors/{second['id']}", headers=admin).status_code == 200
    assert client.get(f"/v1/connectors/{second['id']}", headers=read).status_code == 404
    types = client.get("/v1/connectors/types", headers=read).get_json()
    assert types["count"] == 14
    assert {t["type"] for t in types["data"] if t["available"]} >= {"folder", "sqlite", "postgresql"}


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"type": "folder", "settings": {"path": "/mnt"}}, "name", "VALIDATION_FAILED"),
        ({"name": "x", "type": "gopher"}, "type", "VALIDATION_FAILED"),
        ({"name": "x", "type": "folder", "settings": {}}, "settings.path", "VALIDATION_FAILED"),
        (
            {"name": "x", "type": "folder", "settings": {"path": "/mnt", "extra": 1}},
            "settings.extra",
            "VALIDATION_FAILED",
        ),
        ({"name": "x", "type": "folder", "settings": "path"}, "settings", "VALIDATION_FAILED"),
        ({"name": "x", "type": "folder", "settings": {"path": "/etc"}}, "settings", "CONNECTOR_TARGET_NOT_ALLOWED"),
        (
            {
                "name": "x",
                "type": "postgresql",
                "settings": {"host": "8.8.8.8", "database": "d", "user": "u"},
                "credentials": {"password": "p"},
            },
            "settings",
            "CONNECTOR_TARGET_NOT_ALLOWED",
        ),
        (
            {
                "name": "x",
                "type": "postgresql",
                "settings": {"host": "db", "database": "d", "user": "u", "port": 0},
                "credentials": {"password": "p"},
            },
            "settings.port",
            "VALIDATION_FAILED",
        ),
        (
            {
                "name": "x",
                "type": "postgresql",
                "settings": {"host": "127.0.0.1", "database": "d", "user": "u"},
                "credentials": {"token": "p"},
            },
            "credentials.password",
            "VALIDATION_FAILED",
        ),
        ({"name": "x", "type": "sparkplug_b", "settings": {}}, "settings.host", "VALIDATION_FAILED"),
    ],
)
def test_create_bad_input(
    client: FlaskClient, keys: dict[str, str], mnt: Path, body: dict[str, Any], field: str | None, code: str
) -> None:
    answer = _create(client, keys, body)
    error = answer.get_json()["error"]
    assert answer.status_code == 400 and error["code"] == code, error
    if field:
        assert field in [d["field"] for d in error["details"]], error


def test_a_folder_outside_the_roots_is_explained_without_paths(client: FlaskClient, keys: dict[str, str]) -> None:
    """The message survives the error handler's path scrubbing: it names the key, not `<path>`."""
    answer = _create(client, keys, {"name": "x", "type": "folder", "settings": {"path": "/etc"}})
    error = answer.get_json()["error"]
    assert answer.status_code == 400 and error["code"] == "CONNECTOR_TARGET_NOT_ALLOWED", error
    assert "<path>" not in error["message"], error
    assert "not under any of the 1 folders in `[connectors] folder_roots`" in error["message"], error


def test_bad_input_on_every_route(client: FlaskClient, keys: dict[str, str], mnt: Path, db: Any) -> None:
    from appliance.services import identity

    con = _folder(client, keys, mnt)["id"]
    admin, gen = auth(keys["admin"]), auth(keys["generate"])
    other = identity.create_tenant(db, "other", credits=10)
    stranger = auth(identity.create_key(db, other["id"], ["admin", "generate", "read"])["api_key"])
    assert client.get(f"/v1/connectors/{con}", headers=stranger).status_code == 404
    assert client.post(f"/v1/connectors/{con}/test", headers=stranger).status_code == 404
    assert client.delete(f"/v1/connectors/{con}", headers=stranger).status_code == 404
    assert _create(client, {"admin": keys["generate"]}, {"name": "x", "type": "folder"}).status_code == 403
    assert client.patch(f"/v1/connectors/{con}", json={}, headers=admin).status_code == 400
    assert (
        client.patch(f"/v1/connectors/{con}", json={"settings": {"path": "/etc"}}, headers=admin).get_json()["error"][
            "code"
        ]
        == "CONNECTOR_TARGET_NOT_ALLOWED"
    )
    assert client.post(f"/v1/connectors/{con}/credentials", json={}, headers=admin).status_code == 400
    assert (
        client.post(
            f"/v1/connectors/{con}/credentials", json={"credentials": {"password": "x"}}, headers=admin
        ).get_json()["error"]["details"][0]["field"]
        == "credentials.password"
    )
    assert client.get("/v1/connectors?limit=0", headers=admin).status_code == 400
    assert client.get(f"/v1/connectors/{con}/browse?limit=500", headers=gen).status_code == 400
    outside = client.get(f"/v1/connectors/{con}/browse?path=../..", headers=gen)
    assert outside.status_code == 502 and outside.get_json()["error"]["message"].startswith("not_allowed")
    assert (
        client.get(f"/v1/connectors/{con}/browse?path=nowhere", headers=gen)
        .get_json()["error"]["message"]
        .startswith("not_found")
    )
    assert client.post(f"/v1/connectors/{con}/import", json={}, headers=gen).status_code == 400
    bad_source = client.post(f"/v1/connectors/{con}/import", json={"source": {"table": "x"}}, headers=gen)
    assert "source.path" in [d["field"] for d in bad_source.get_json()["error"]["details"]]
    assert (
        client.post(f"/v1/connectors/{con}/deliver", json={"job_id": "job_x", "target": {}}, headers=gen).status_code
        == 400
    )
    missing_job = client.post(
        f"/v1/connectors/{con}/deliver", json={"job_id": "job_" + "0" * 26, "target": {}}, headers=gen
    )
    assert missing_job.status_code == 400 and missing_job.get_json()["error"]["details"][0]["field"] == "params.job_id"
    forged = client.post(
        "/v1/jobs",
        json={
            "kind": "connector_import",
            "params": {
                "connector": {"id": con, "type": "folder", "settings": {"path": "/"}},
                "source": {"path": "etc/passwd"},
            },
        },
        headers=gen,
    )
    assert forged.status_code == 400 and forged.get_json()["error"]["details"][0]["field"] == "params.connector"


def test_import_then_deliver(client: FlaskClient, keys: dict[str, str], mnt: Path, inline_jobs: InlineJobs) -> None:
    gen = auth(keys["generate"])
    con = _folder(client, keys, mnt)["id"]
    submitted = client.post(
        f"/v1/client/connectors/{con}/import", json={"source": {"path": "flows.csv"}, "name": "flows"}, headers=gen
    )
    assert submitted.status_code == 202 and submitted.headers["X-Job-Id"]
    job = inline_jobs.finish(client, gen, submitted.get_json()["id"])
    result = job["result"]
    dataset = client.get(f"/v1/datasets/{result['dataset_id']}", headers=gen).get_json()
    assert dataset["rows"] == 3 and dataset["name"] == "flows.csv" and dataset["source_job_id"] == job["id"]
    assert dataset["blake3"] == result["blake3"]
    contract = client.get(f"/v1/jobs/{job['id']}", headers=gen).get_json()
    assert json.dumps(contract).count(str(mnt / "usb")) >= 1
    artifacts = {a["name"] for a in client.get(f"/v1/artifacts?job_id={job['id']}", headers=gen).get_json()["data"]}
    assert artifacts == {"flows.csv", "import.json"}
    delivered = client.post(
        f"/v1/connectors/{con}/deliver",
        json={"job_id": job["id"], "artifacts": ["flows.csv"], "target": {"folder": "results"}},
        headers=gen,
    )
    assert delivered.status_code == 202, delivered.get_json()
    done = inline_jobs.finish(client, gen, delivered.get_json()["id"])
    assert done["result"] == {"delivered": 1, "artifacts": ["flows.csv"]}
    assert (mnt / "usb" / "results" / "flows.csv").read_bytes() == (mnt / "usb" / "flows.csv").read_bytes()


def test_import_is_checked_like_an_upload(
    client: FlaskClient, keys: dict[str, str], mnt: Path, inline_jobs: InlineJobs
) -> None:
    gen = auth(keys["generate"])
    con = _folder(client, keys, mnt)["id"]
    job_id = client.post(
        f"/v1/connectors/{con}/import", json={"source": {"path": "ragged.csv"}}, headers=gen
    ).get_json()["id"]
    failed = inline_jobs.finish(client, gen, job_id, expect="failed")
    assert failed["error"]["code"] == "DATASET_INVALID"
    assert client.get("/v1/datasets", headers=gen).get_json()["count"] == 0
    gone = client.post(f"/v1/connectors/{con}/import", json={"source": {"path": "gone.csv"}}, headers=gen)
    missing = inline_jobs.finish(client, gen, gone.get_json()["id"], expect="failed")
    assert missing["error"]["code"] == "CONNECTOR_FAILED" and missing["error"]["message"].startswith("not_found")


def test_import_answers_as_an_upload(
    client: FlaskClient, keys: dict[str, str], mnt: Path, inline_jobs: InlineJobs, state_dir: Path
) -> None:
    """An import parses while it reads (CSV) or after (Parquet), an upload after it stores: the
    same bytes get the same answer either way, and a refused file leaves no blob behind."""
    from appliance.store.blobs import BlobStore
    from tests.services.datasets.test_upload import upload

    gen = auth(keys["generate"])
    con = _folder(client, keys, mnt)["id"]
    files = {
        "ragged.csv": b"a,b\n1,2\n3\n",
        "open-quote.csv": b'a,b\n1,"x\n2,3\n',
        "header-only.tsv": b"a\tb\n",
        "big-cell.csv": b"id,note\n1,ok\n2," + b"y" * (512 << 10) + b"\n",
        "fake.parquet": b"PAR1 but not a Parquet file",
        "long.csv": b"id,v\n" + b"".join(b"%d,%d.5\n" % (i, i) for i in range(300_000)) + b"7\n",
    }
    for name, data in files.items():
        (mnt / "usb" / name).write_bytes(data)
        uploaded = upload(client, keys["generate"], data, name).get_json()["error"]
        job_id = client.post(f"/v1/connectors/{con}/import", json={"source": {"path": name}}, headers=gen)
        failed = inline_jobs.finish(client, gen, job_id.get_json()["id"], expect="failed")["error"]
        assert (failed["code"], failed["message"]) == (uploaded["code"], uploaded["message"]), name
    assert client.get("/v1/datasets", headers=gen).get_json()["count"] == 0
    assert BlobStore(state_dir).stored_digests() == []
    good = b"t,flow\n" + b"".join(b"%d,%d.25\n" % (i, i) for i in range(300_000))
    (mnt / "usb" / "good.csv").write_bytes(good)
    uploaded = upload(client, keys["generate"], good, "good.csv").get_json()
    job_id = client.post(f"/v1/connectors/{con}/import", json={"source": {"path": "good.csv"}}, headers=gen)
    job = inline_jobs.finish(client, gen, job_id.get_json()["id"])
    imported = client.get(f"/v1/datasets/{job['result']['dataset_id']}", headers=gen).get_json()
    same = ("rows", "columns", "blake3", "size")
    assert {k: imported[k] for k in same} == {k: uploaded[k] for k in same}
    artifacts = client.get(f"/v1/artifacts?job_id={job['id']}", headers=gen).get_json()["data"]
    by_name = {a["name"]: a for a in artifacts}
    assert by_name["import.csv"]["blake3"] == uploaded["blake3"] == job["result"]["blake3"]
    seal_id = client.get(f"/v1/seals?job_id={job['id']}", headers=gen).get_json()["data"][0]["id"]
    envelope = client.get(f"/v1/seals/{seal_id}", headers=gen).get_json()["envelope"]
    subjects = {s["name"]: s for s in json.loads(base64.b64decode(envelope["payload"]))["subject"]}
    assert subjects["import.csv"]["digest"]["sha256"] == job["result"]["sha256"] == hashlib.sha256(good).hexdigest()
    assert subjects["import.csv"]["annotations"]["blake3"] == uploaded["blake3"]
    # one blob for the upload, the import's dataset and its artifact; one for import.json
    assert BlobStore(state_dir).stored_digests() == sorted({uploaded["blake3"], by_name["import.json"]["blake3"]})


def test_sqlite_import(client: FlaskClient, keys: dict[str, str], mnt: Path, inline_jobs: InlineJobs) -> None:
    gen = auth(keys["generate"])
    with sqlite3.connect(mnt / "usb" / "hmi.db") as conn:
        conn.execute("CREATE TABLE trend (t INTEGER, level REAL)")
        conn.executemany("INSERT INTO trend VALUES (?, ?)", [(i, i / 2) for i in range(50)])
    made = _create(client, keys, {"name": "hmi", "type": "sqlite", "settings": {"path": str(mnt / "usb" / "hmi.db")}})
    con = made.get_json()["id"]
    job_id = client.post(f"/v1/connectors/{con}/import", json={"source": {"table": "trend"}}, headers=gen).get_json()[
        "id"
    ]
    job = inline_jobs.finish(client, gen, job_id)
    assert job["result"]["rows"] == 50 and job["result"]["format"] == "csv"
