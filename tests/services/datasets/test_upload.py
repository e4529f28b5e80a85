"""Dataset upload in every format, the bad-input matrix, preview, list and delete."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import blake3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flask.testing import FlaskClient

from tests.conftest import auth

CSV = b"id,name,flow\n1,pump a,10.5\n2,pump b,11.25\n3,valve c,9.0\n"


def parquet_bytes() -> bytes:
    sink = io.BytesIO()
    pq.write_table(
        pa.table({"id": [1, 2, 3], "name": ["pump a", "pump b", "valve c"], "flow": [10.5, 11.25, 9.0]}), sink
    )
    return sink.getvalue()


SAMPLES = {
    "csv": CSV,
    "tsv": CSV.replace(b",", b"\t"),
    "jsonl": b'{"id": 1, "name": "pump a", "flow": 10.5}\n{"id": 2, "name": "pump b", "flow": 11.25}\n'
    b'{"id": 3, "name": "valve c", "flow": 9.0}\n',
}


def upload(
    client: FlaskClient, key: str, data: bytes, name: str, content_type: str = "application/octet-stream", **query: str
) -> Any:
    return client.post(
        "/v1/datasets", data=data, content_type=content_type, query_string={"name": name, **query}, headers=auth(key)
    )


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
def test_round_trip_each_format(client: FlaskClient, keys: dict[str, str], state_dir: Path, fmt: str) -> None:
    data = parquet_bytes() if fmt == "parquet" else SAMPLES[fmt]
    response = upload(client, keys["generate"], data, f"plant.{fmt}")
    assert response.status_code == 201, response.get_json()
    ds = response.get_json()
    assert ds["format"] == fmt and ds["rows"] == 3 and ds["size"] == len(data)
    assert ds["blake3"] == blake3.blake3(data).hexdigest()
    assert [c["name"] for c in ds["columns"]] == ["id", "name", "flow"]
    assert (state_dir / "blobs" / ds["blake3"][:2] / ds["blake3"][2:]).read_bytes() == data
    preview = client.get(f"/v1/datasets/{ds['id']}/preview?rows=2", headers=auth(keys["read"])).get_json()
    assert preview["rows"] == [{"id": 1, "name": "pump a", "flow": 10.5}, {"id": 2, "name": "pump b", "flow": 11.25}]


def test_multipart_and_alias(client: FlaskClient, keys: dict[str, str]) -> None:
    response = client.post(
        "/v1/datasets/upload",
        data={"file": (io.BytesIO(CSV), "readings.csv")},
        content_type="multipart/form-data",
        headers=auth(keys["generate"]),
    )
    assert response.status_code == 201
    assert response.get_json()["name"] == "readings.csv"
    missing = client.post(
        "/v1/datasets",
        data={"other": (io.BytesIO(CSV), "x.csv")},
        content_type="multipart/form-data",
        headers=auth(keys["generate"]),
    )
    assert missing.status_code == 400 and missing.get_json()["error"]["details"][0]["field"] == "file"


BAD = [
    (b"", "empty.csv", "DATASET_INVALID", "empty"),
    (b"id,name\n", "header-only.csv", "DATASET_INVALID", "no rows"),
    (b"a,b\n1,2\n3\n", "ragged.csv", "DATASET_INVALID", "Expected 2 columns"),
    (b"a,b\n1,\xff\xfe\n", "latin.csv", "DATASET_INVALID", "UTF-8"),
    (b"this is text, not parquet\n", "fake.parquet", "DATASET_INVALID", "not a Parquet"),
    (b"{not json}\n", "bad.jsonl", "DATASET_INVALID", "JSONL"),
    (b"a,a\n1,2\n", "dup.csv", "DATASET_INVALID", "repeat"),
    (b'id,flow\n1,"unterminated\n', "open-quote.csv", "DATASET_INVALID", "quoted field is still open"),
    (b"a,b\n1,2\n", "readings.xlsx", "UNSUPPORTED_MEDIA_TYPE", "format"),
]


def test_a_literal_quote_inside_an_unquoted_field_is_data(client: FlaskClient, keys: dict[str, str]) -> None:
    """An odd count of quotes is not always an open quote: `5" pipe` is a plain cell."""
    response = upload(client, keys["generate"], b'id,name\n1,5" pipe\n2,"a ""b"""\n', "inches.csv")
    assert response.status_code == 201, response.get_json()
    preview = client.get(f"/v1/datasets/{response.get_json()['id']}/preview", headers=auth(keys["read"])).get_json()
    assert [row["name"] for row in preview["rows"]] == ['5" pipe', 'a "b"']


@pytest.mark.parametrize("data,name,code,words", BAD)
def test_bad_uploads_leave_nothing(
    client: FlaskClient, keys: dict[str, str], state_dir: Path, data: bytes, name: str, code: str, words: str
) -> None:
    response = upload(client, keys["generate"], data, name)
    error = response.get_json()["error"]
    assert error["code"] == code and words in error["message"], error
    assert response.status_code in (400, 415)
    assert client.get("/v1/datasets", headers=auth(keys["read"])).get_json()["count"] == 0
    blobs = [p for p in (state_dir / "blobs").rglob("*") if p.is_file()] if (state_dir / "blobs").exists() else []
    assert blobs == []


def test_parquet_named_as_csv_is_rejected(client: FlaskClient, keys: dict[str, str]) -> None:
    response = upload(client, keys["generate"], parquet_bytes(), "table.csv")
    assert response.status_code == 400 and "Parquet" in response.get_json()["error"]["message"]


class TestQuota:
    @pytest.fixture
    def app_config(self, state_dir: Path) -> dict[str, Any]:
        return {"server": {"state_dir": str(state_dir)}, "datasets": {"max_upload_bytes": 1000}}

    def test_over_quota_is_413_and_leaves_nothing(
        self, client: FlaskClient, keys: dict[str, str], state_dir: Path
    ) -> None:
        big = b"a,b\n" + b"1,2\n" * 1000
        response = upload(client, keys["generate"], big, "big.csv")
        assert response.status_code == 413
        assert [p for p in (state_dir / "blobs").rglob("*") if p.is_file()] == []


def test_format_from_query_and_content_type(client: FlaskClient, keys: dict[str, str]) -> None:
    by_query = upload(client, keys["generate"], CSV, "noext", format="csv")
    assert by_query.status_code == 201 and by_query.get_json()["format"] == "csv"
    by_type = upload(client, keys["generate"], CSV, "noext", content_type="text/csv")
    assert by_type.get_json()["format"] == "csv"
    bad_query = upload(client, keys["generate"], CSV, "x.csv", format="xls")
    assert bad_query.status_code == 400 and bad_query.get_json()["error"]["details"][0]["field"] == "format"


def test_list_get_delete_and_tenancy(client: FlaskClient, db: Any, keys: dict[str, str], state_dir: Path) -> None:
    from appliance.services import identity

    first = upload(client, keys["generate"], CSV, "a.csv").get_json()
    second = upload(client, keys["generate"], CSV, "b.csv").get_json()  # same bytes, one blob
    listed = client.get("/v1/datasets?limit=1", headers=auth(keys["read"])).get_json()
    assert listed["has_more"] and listed["data"][0]["id"] == first["id"]
    other = identity.create_key(db, identity.create_tenant(db, "globex")["id"], ["admin"])["api_key"]
    for method in ("GET", "DELETE"):
        assert client.open(f"/v1/datasets/{first['id']}", method=method, headers=auth(other)).status_code == 404
    assert client.get(f"/v1/datasets/{first['id']}/preview", headers=auth(other)).status_code == 404
    assert client.delete(f"/v1/datasets/{first['id']}", headers=auth(keys["generate"])).status_code == 204
    blob = state_dir / "blobs" / first["blake3"][:2] / first["blake3"][2:]
    assert blob.exists()  # still held by the second dataset
    assert client.delete(f"/v1/datasets/{second['id']}", headers=auth(keys["generate"])).status_code == 204
    assert not blob.exists()
    assert client.get(f"/v1/datasets/{first['id']}", headers=auth(keys["read"])).status_code == 404


def test_delete_is_blocked_while_a_job_uses_it(
    client: FlaskClient, db: Any, keys: dict[str, str], tenant: dict[str, Any]
) -> None:
    ds = upload(client, keys["generate"], CSV, "a.csv").get_json()
    contract = json.dumps({"inputs": [{"dataset_id": ds["id"], "blake3": ds["blake3"]}]})
    db.execute(
        "INSERT INTO jobs (id, tenant_id, kind, queue, status, contract, contract_hash, estimate_micro,"
        " estimate_seconds, max_attempts, created_by, created_at) VALUES ('job_x', ?, 'analyze', 'default', 'running',"
        " ?, 'h', 0, 1, 1, 'key', 'now')",
        (tenant["id"], contract),
    )
    response = client.delete(f"/v1/datasets/{ds['id']}", headers=auth(keys["generate"]))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "DATASET_IN_USE"
    assert "job_x" in response.get_json()["error"]["message"]


def test_preview_bounds(client: FlaskClient, keys: dict[str, str]) -> None:
    ds = upload(client, keys["generate"], CSV, "a.csv").get_json()
    assert client.get(f"/v1/datasets/{ds['id']}/preview?rows=0", headers=auth(keys["read"])).status_code == 400
    assert client.get(f"/v1/datasets/{ds['id']}/preview?rows=5000", headers=auth(keys["read"])).status_code == 400
    assert client.get(f"/v1/datasets/{ds['id']}/preview?rows=100", headers=auth(keys["read"])).get_json()["count"] == 3
