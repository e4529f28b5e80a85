"""/v1/connectors with a real PostgreSQL server: write-only credentials and their rotation, the
test diagnoses, browse, import and delivery as jobs, the round trip
(cancel mid-import: test_cancel_import.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth
from tests.connector_servers import PostgresServer, _free_port

pytestmark = pytest.mark.xdist_group("postgres")

PASSWORD = "plant-reader-pw-0123"


@pytest.fixture
def plant(pg_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    name = pg_server.new_database("api_" + request.node.name[:40].lower())
    with pg_server.connect(name) as conn:
        conn.execute(  # type: ignore[attr-defined]
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'plant_api') THEN"
            f" CREATE ROLE plant_api LOGIN PASSWORD '{PASSWORD}'; END IF; END $$"
        )
        conn.execute(  # type: ignore[attr-defined]
            "CREATE TABLE batches (id bigint, product text, yield double precision, ok boolean)"
        )
        conn.execute(  # type: ignore[attr-defined]
            "INSERT INTO batches SELECT i, 'P' || (i % 4), round((90 + i % 10 * 0.5)::numeric, 2), i % 3 > 0"
            " FROM generate_series(1, 2000) i"
        )
        conn.execute("CREATE TABLE secret_recipes (id int)")  # type: ignore[attr-defined]
        conn.execute("CREATE VIEW endless AS SELECT i, repeat('x', 300) AS pad FROM generate_series(1, 100000000) i")  # type: ignore[attr-defined]
        conn.execute("CREATE SCHEMA delivered")  # type: ignore[attr-defined]
        conn.execute("GRANT SELECT ON batches, endless TO plant_api")  # type: ignore[attr-defined]
        conn.execute("GRANT USAGE, CREATE ON SCHEMA delivered TO plant_api")  # type: ignore[attr-defined]
    return name


def _connector(client: FlaskClient, keys: dict[str, str], server: PostgresServer, db: str, **over: Any) -> str:
    settings = {"host": "127.0.0.1", "port": server.port, "database": db, "user": "plant_api", "sslmode": "disable"}
    body = {
        "name": "historian",
        "type": "postgresql",
        "settings": {**settings, **over.pop("settings", {})},
        "credentials": {"password": over.pop("password", PASSWORD)},
    }
    made = client.post("/v1/connectors", json=body, headers=auth(keys["admin"]))
    assert made.status_code == 201, made.get_json()
    return str(made.get_json()["id"])


def test_credentials_are_write_only_and_rotate(
    client: FlaskClient, keys: dict[str, str], pg_server: PostgresServer, plant: str, state_dir: Path
) -> None:
    admin, gen = auth(keys["admin"]), auth(keys["generate"])
    con = _connector(client, keys, pg_server, plant, password="wrong-one-xyz")
    shown = client.get(f"/v1/connectors/{con}", headers=admin)
    assert shown.get_json()["has_credentials"] is True and b"wrong-one-xyz" not in shown.data
    assert b"wrong-one-xyz" not in (state_dir / "sealforge.db").read_bytes()
    assert (state_dir / "keys" / "connectors.key").stat().st_mode & 0o777 == 0o600
    failed = client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()
    assert failed["ok"] is False and failed["diagnosis"] == "auth" and "wrong-one-xyz" not in str(failed)
    rotated = client.post(
        f"/v1/connectors/{con}/credentials", json={"credentials": {"password": PASSWORD}}, headers=admin
    )
    assert rotated.status_code == 200 and PASSWORD.encode() not in rotated.data
    assert rotated.get_json()["credentials_updated_at"] and rotated.get_json()["last_test"] is None
    tested = client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()
    assert tested["ok"] and tested["details"]["user"] == "plant_api" and tested["details"]["readable_tables"] == 2
    audit = b"".join(p.read_bytes() for p in state_dir.glob("sealforge.db*"))
    assert PASSWORD.encode() not in audit


def test_diagnoses(client: FlaskClient, keys: dict[str, str], pg_server: PostgresServer, plant: str) -> None:
    gen = auth(keys["generate"])
    cases = {
        "refused": {"settings": {"port": _free_port()}},
        "not_found": {"settings": {"database": "no_such_database"}},
        "auth": {"settings": {"user": "no_such_role"}},
        "dns": {"settings": {"host": "no-such-host.invalid"}},
    }
    for diagnosis, over in cases.items():
        con = _connector(client, keys, pg_server, plant, **over)
        answer = client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()
        assert answer["ok"] is False and answer["diagnosis"] == diagnosis, answer
        assert answer["hint"]


def test_browse_import_deliver_round_trip(
    client: FlaskClient, keys: dict[str, str], pg_server: PostgresServer, plant: str, inline_jobs: InlineJobs
) -> None:
    gen = auth(keys["generate"])
    con = _connector(client, keys, pg_server, plant)
    schemas = client.get(f"/v1/connectors/{con}/browse", headers=gen).get_json()
    assert {"public", "delivered"} <= {e["name"] for e in schemas["data"]}
    tables = client.post(f"/v1/connectors/{con}/browse", json={"path": "public"}, headers=gen).get_json()
    by_name = {e["name"]: e for e in tables["data"]}
    assert by_name["batches"]["detail"]["select"] is True and by_name["secret_recipes"]["detail"]["select"] is False
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
            "target": {"schema": "delivered", "table": "batches", "mode": "create"},
        },
        headers=gen,
    )
    assert delivered.status_code == 202, delivered.get_json()
    inline_jobs.finish(client, gen, delivered.get_json()["id"])
    again = client.post(
        f"/v1/connectors/{con}/import", json={"source": {"schema": "delivered", "table": "batches"}}, headers=gen
    ).get_json()["id"]
    round_trip = inline_jobs.finish(client, gen, again)
    assert round_trip["result"]["sha256"] == imported["result"]["sha256"]
    with pg_server.connect(plant) as conn:
        rows = conn.execute("SELECT * FROM delivered.batches ORDER BY id").fetchall()  # type: ignore[attr-defined]
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()
    with pg_server.connect(plant) as conn:
        source = conn.execute("SELECT * FROM public.batches ORDER BY id").fetchall()  # type: ignore[attr-defined]
    assert digest == hashlib.sha256(repr(source).encode()).hexdigest()


def test_permission_denied_import_fails_with_diagnosis(
    client: FlaskClient, keys: dict[str, str], pg_server: PostgresServer, plant: str, inline_jobs: InlineJobs
) -> None:
    gen = auth(keys["generate"])
    con = _connector(client, keys, pg_server, plant)
    job_id = client.post(
        f"/v1/connectors/{con}/import", json={"source": {"table": "secret_recipes"}}, headers=gen
    ).get_json()["id"]
    failed = inline_jobs.finish(client, gen, job_id, expect="failed")
    assert failed["error"]["code"] == "CONNECTOR_FAILED" and failed["error"]["message"].startswith("permission")
    missing = client.post(f"/v1/connectors/{con}/browse", json={"path": "nope"}, headers=gen).get_json()
    assert missing["data"] == []
