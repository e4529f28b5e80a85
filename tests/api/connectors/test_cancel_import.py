"""Cancel mid-import, the same shape for every streaming connector type: a real worker starts a
long import, the job reports bytes read, a cancel request ends it `canceled`, no dataset is left,
and the type's own server-side check passes (the database's statement is gone). One case a type,
on the session's shared servers (tests/connector_servers.py, tests/remote_servers.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import auth, wait_for
from tests.jobs.test_lifecycle import parse_sse
from tests.remote_servers import MYSQL_API_PASSWORD

PG_PASSWORD = "plant-reader-pw-0123"


def _sparse(files: Path) -> dict[str, Any]:
    big = files / "exports" / "big.csv"
    with big.open("wb") as fh:  # sparse: a gigabyte that costs no disk on the server side
        fh.write(b"t,v\n")
        fh.truncate(1 << 30)
    return {"path": "exports/big.csv"}


def _sftp(server: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    settings = {"host": "127.0.0.1", "port": server.port, "user": server.user, "folder": str(server.files)}
    return {"type": "sftp", "settings": settings, "credentials": {"private_key": server.private_key}}, _sparse(
        server.files
    )


def _ftp(server: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    settings = {"host": "127.0.0.1", "port": server.port, "user": "plant", "ca_certificate": server.certificate}
    return {"type": "ftp", "settings": settings, "credentials": {"password": server.users["plant"]}}, _sparse(
        server.files
    )


def _smb(server: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    settings = {"host": "127.0.0.1", "port": server.port, "share": "plant", "user": server.user}
    return {"type": "smb", "settings": settings, "credentials": {"password": server.password}}, _sparse(server.files)


def _postgresql(server: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    db = server.new_database("api_cancel")
    with server.connect(db) as conn:
        conn.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'plant_api') THEN"
            f" CREATE ROLE plant_api LOGIN PASSWORD '{PG_PASSWORD}'; END IF; END $$"
        )
        conn.execute("CREATE VIEW endless AS SELECT i, repeat('x', 300) AS pad FROM generate_series(1, 100000000) i")
        conn.execute("GRANT SELECT ON endless TO plant_api")
    settings = {"host": "127.0.0.1", "port": server.port, "database": db, "user": "plant_api", "sslmode": "disable"}
    return {"type": "postgresql", "settings": settings, "credentials": {"password": PG_PASSWORD}}, {"table": "endless"}


def _mysql(server: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    settings = {"host": "127.0.0.1", "port": server.port, "database": "mes", "user": "plant_api", "tls": "disable"}
    return {"type": "mysql", "settings": settings, "credentials": {"password": MYSQL_API_PASSWORD}}, {
        "table": "endless"
    }


def _influxdb(server: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    settings = {"url": server.url, "database": "site"}
    credentials = {"username": "historian", "password": "historian-pw"}
    return {"type": "influxdb", "settings": settings, "credentials": credentials}, {"measurement": "vib"}


def _files_left(server: Any) -> None:
    (server.files / "exports" / "big.csv").unlink()


def _copy_stopped(server: Any) -> None:
    """The canceled import's COPY no longer runs on the server."""
    with server.connect() as conn:
        for _ in range(100):
            left = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = 'plant_api'").fetchone()[0]
            if left == 0:
                break
            time.sleep(0.1)
    assert left == 0, "the canceled import left its COPY running on the server"


def _select_stopped(server: Any) -> None:
    """The canceled import's SELECT no longer runs on the server."""
    conn = server.admin()
    for _ in range(100):
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.processlist WHERE user = 'plant_api'")
            left = cur.fetchone()[0]
        if left == 0:
            break
        time.sleep(0.1)
    conn.close()
    assert left == 0, "the canceled import left its SELECT running on the server"


def _nothing_more(_server: Any) -> None:
    """InfluxDB answers a query in one response: closing it is all there is to stop."""


@dataclass(frozen=True)
class Case:
    server: str  # the session fixture
    group: str  # its xdist group, shared with the type's other modules
    connector: Callable[[Any], tuple[dict[str, Any], dict[str, Any]]]  # (POST /v1/connectors body, a long source)
    after: Callable[[Any], None]  # the type's own check once the job is canceled


CASES = {
    "sftp": Case("sshd", "sshd", _sftp, _files_left),
    "ftp": Case("ftpd", "ftpd", _ftp, _files_left),
    "smb": Case("smbd", "smbd", _smb, _files_left),
    "postgresql": Case("pg_server", "postgres", _postgresql, _copy_stopped),
    "mysql": Case("maria", "mariadb", _mysql, _select_stopped),
    "influxdb": Case("influx", "influxdb", _influxdb, _nothing_more),
}


@pytest.mark.parametrize("kind", [pytest.param(k, marks=pytest.mark.xdist_group(c.group)) for k, c in CASES.items()])
def test_cancel_mid_import(
    client: FlaskClient, keys: dict[str, str], start_worker: Any, request: pytest.FixtureRequest, kind: str
) -> None:
    case = CASES[kind]
    server = request.getfixturevalue(case.server)
    gen = auth(keys["generate"])
    body, source = case.connector(server)
    made = client.post("/v1/connectors", json={"name": f"{kind}-source", **body}, headers=auth(keys["admin"]))
    assert made.status_code == 201, made.get_json()
    start_worker("default")
    job_id = client.post(f"/v1/connectors/{made.get_json()['id']}/import", json={"source": source}, headers=gen)
    job_id = job_id.get_json()["id"]
    deadline = time.monotonic() + 60
    while "bytes read" not in ((job := client.get(f"/v1/jobs/{job_id}", headers=gen).get_json())["message"] or ""):
        assert time.monotonic() < deadline, f"the import never reported bytes read: {job}"
        time.sleep(0.2)
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=gen).status_code == 200
    done = wait_for(client, gen, job_id, {"canceled", "succeeded", "failed"})
    assert done["status"] == "canceled", done
    events = parse_sse(client.get(f"/v1/jobs/{job_id}/events", headers=gen).get_data(as_text=True))
    progress = [e for e in events if e["event"] == "progress"]
    assert progress and "bytes read" in json.dumps(progress[-1]["data"])
    assert client.get("/v1/datasets", headers=gen).get_json()["count"] == 0
    case.after(server)
