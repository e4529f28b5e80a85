"""/v1/connectors with moto's S3 server: an object imported into a dataset, a table imported from
PostgreSQL and delivered to S3 byte for byte, and the diagnoses through the API."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth
from tests.connector_servers import PostgresServer, S3Server

pytestmark = pytest.mark.xdist_group("s3")


def _s3(client: FlaskClient, keys: dict[str, str], s3: S3Server, creds: dict[str, str], **settings: Any) -> str:
    made = client.post(
        "/v1/connectors",
        json={"name": "nas", "type": "s3", "settings": {"endpoint_url": s3.url, **settings}, "credentials": creds},
        headers=auth(keys["admin"]),
    )
    assert made.status_code == 201, made.get_json()
    assert creds["secret_access_key"].encode() not in made.data
    return str(made.get_json()["id"])


@pytest.fixture
def bucket(s3: S3Server, request: pytest.FixtureRequest) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = "api-" + request.node.name[:40].lower().replace("_", "-")
    client: Any = s3.client()
    client.create_bucket(Bucket=name)
    table = pa.table({"t": list(range(1000)), "level": [i / 8 for i in range(1000)]})
    out = io.BytesIO()
    pq.write_table(table, out)
    client.put_object(Bucket=name, Key="trends/level.parquet", Body=out.getvalue())
    return name


def test_import_object_and_diagnoses(
    client: FlaskClient, keys: dict[str, str], s3: S3Server, bucket: str, inline_jobs: InlineJobs
) -> None:
    gen = auth(keys["generate"])
    con = _s3(client, keys, s3, s3.reader, bucket=bucket)
    assert client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()["ok"]
    listed = client.get(f"/v1/connectors/{con}/browse?path={bucket}/trends", headers=gen).get_json()
    assert [e["name"] for e in listed["data"]] == ["level.parquet"]
    job_id = client.post(
        f"/v1/connectors/{con}/import", json={"source": {"key": "trends/level.parquet"}}, headers=gen
    ).get_json()["id"]
    job = inline_jobs.finish(client, gen, job_id)
    assert job["result"]["rows"] == 1000 and job["result"]["format"] == "parquet"
    missing = client.post(
        f"/v1/connectors/{con}/import", json={"source": {"key": "trends/none.parquet"}}, headers=gen
    ).get_json()["id"]
    failed = inline_jobs.finish(client, gen, missing, expect="failed")
    assert failed["error"]["message"].startswith("not_found")
    bad = _s3(client, keys, s3, {**s3.reader, "secret_access_key": "nope-nope"})
    answer = client.post(f"/v1/connectors/{bad}/test", headers=gen).get_json()
    assert answer["ok"] is False and answer["diagnosis"] == "auth"
    denied = client.post(
        f"/v1/connectors/{con}/deliver", json={"job_id": job_id, "target": {"prefix": "out"}}, headers=gen
    ).get_json()["id"]
    refused = inline_jobs.finish(client, gen, denied, expect="failed")
    assert refused["error"]["message"].startswith("permission")


def test_postgres_table_delivered_to_s3(
    client: FlaskClient,
    keys: dict[str, str],
    s3: S3Server,
    bucket: str,
    pg_server: PostgresServer,
    inline_jobs: InlineJobs,
) -> None:
    gen = auth(keys["generate"])
    db = pg_server.new_database("api_to_s3")
    with pg_server.connect(db) as conn:
        conn.execute("CREATE TABLE t AS SELECT i AS id, md5(i::text) AS h FROM generate_series(1, 3000) i")  # type: ignore[attr-defined]
    pg = client.post(
        "/v1/connectors",
        json={
            "name": "pg",
            "type": "postgresql",
            "settings": {
                "host": "127.0.0.1",
                "port": pg_server.port,
                "database": db,
                "user": "postgres",
                "sslmode": "disable",
            },
            "credentials": {"password": pg_server.password},
        },
        headers=auth(keys["admin"]),
    ).get_json()["id"]
    imported = inline_jobs.finish(
        client,
        gen,
        client.post(
            f"/v1/connectors/{pg}/import", json={"source": {"table": "t"}, "name": "t"}, headers=gen
        ).get_json()["id"],
    )
    nas = _s3(client, keys, s3, s3.admin, bucket=bucket)
    delivered = inline_jobs.finish(
        client,
        gen,
        client.post(
            f"/v1/connectors/{nas}/deliver",
            json={"job_id": imported["id"], "artifacts": ["t.csv"], "target": {"prefix": "synthetic"}},
            headers=gen,
        ).get_json()["id"],
    )
    assert delivered["result"]["artifacts"] == ["t.csv"]
    body = s3.client().get_object(Bucket=bucket, Key="synthetic/t.csv")["Body"].read()  # type: ignore[attr-defined]
    assert hashlib.sha256(body).hexdigest() == imported["result"]["sha256"]
