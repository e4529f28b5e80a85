"""The S3 connector against moto's S3 server with IAM enforced: test, browse, read, write, and
the diagnoses of wrong keys, a denied write, a missing object and a dead endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from appliance.services.connectors import environment
from appliance.services.connectors.base import ConnectorError
from appliance.services.connectors.s3 import S3Connector
from tests.connector_servers import S3Server, _free_port

pytestmark = pytest.mark.xdist_group("s3")


@pytest.fixture
def bucket(s3: S3Server, request: pytest.FixtureRequest) -> str:
    name = "svc-" + request.node.name[:40].lower().replace("_", "-")
    client: Any = s3.client()
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="historian/2026/flows.csv", Body=b"t,flow\n1,2.5\n2,2.7\n")
    client.put_object(Bucket=name, Key="historian/readme.txt", Body=b"hello")
    for i in range(3):
        client.put_object(Bucket=name, Key=f"runs/run{i}.csv", Body=b"a\n1\n")
    return name


def _connector(s3: S3Server, keys: dict[str, str] | None = None, **settings: Any) -> S3Connector:
    env = environment({"webhooks": {}, "connectors": {"timeout_s": 3}})
    return S3Connector({"endpoint_url": s3.url, **settings}, keys or s3.admin, env)


def test_test_browse_read_write(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    con = _connector(s3)
    assert con.test()["buckets"] >= 1
    assert bucket in {e.name for e in con.browse("", None, 200).entries}
    top = con.browse(bucket, None, 50)
    assert [(e.name, e.kind) for e in top.entries] == [("historian", "prefix"), ("runs", "prefix")]
    inside = con.browse(f"{bucket}/historian", None, 50)
    assert [(e.name, e.kind) for e in inside.entries] == [("2026", "prefix"), ("readme.txt", "object")]
    first = con.browse(f"{bucket}/runs/", None, 2)
    rest = con.browse(f"{bucket}/runs/", first.next_cursor, 2)
    assert [e.name for e in first.entries + rest.entries] == ["run0.csv", "run1.csv", "run2.csv"]
    assert rest.next_cursor is None and first.entries[0].detail["format"] == "csv"
    stream = con.read({"bucket": bucket, "key": "historian/2026/flows.csv"})
    assert stream.format == "csv" and stream.size_hint == 19
    assert b"".join(stream.chunks) == b"t,flow\n1,2.5\n2,2.7\n" and stream.description["etag"]
    artifact = tmp_path / "synthetic.csv"
    artifact.write_bytes(b"x,y\n" + b"1,2\n" * 100_000)
    written = con.write({"bucket": bucket, "prefix": "out/"}, "synthetic.csv", "csv", artifact)
    assert written["key"] == "out/synthetic.csv" and written["bytes"] == artifact.stat().st_size
    with pytest.raises(ConnectorError) as exists:
        con.write({"bucket": bucket, "prefix": "out"}, "synthetic.csv", "csv", artifact)
    assert exists.value.diagnosis == "invalid"


def test_kept_to_one_bucket(s3: S3Server, bucket: str) -> None:
    con = _connector(s3, bucket=bucket)
    assert con.test() == {"bucket": bucket}
    assert [e.name for e in con.browse("", None, 10).entries] == [bucket]
    with pytest.raises(ConnectorError) as other:
        con.read({"bucket": "another-bucket", "key": "x.csv"})
    assert other.value.diagnosis == "not_allowed"


def test_diagnoses(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    wrong = {**s3.reader, "secret_access_key": "not-the-secret"}
    with pytest.raises(ConnectorError) as auth:
        _connector(s3, wrong).test()
    assert auth.value.diagnosis == "auth" and "not-the-secret" not in auth.value.message
    reader = _connector(s3, s3.reader)
    assert b"".join(reader.read({"bucket": bucket, "key": "runs/run0.csv"}).chunks) == b"a\n1\n"
    artifact = tmp_path / "a.csv"
    artifact.write_text("a\n1\n")
    with pytest.raises(ConnectorError) as denied:
        reader.write({"bucket": bucket, "overwrite": True}, "a.csv", "csv", artifact)
    assert denied.value.diagnosis == "permission"
    with pytest.raises(ConnectorError) as missing:
        reader.read({"bucket": bucket, "key": "nope.csv"})
    assert missing.value.diagnosis == "not_found"
    with pytest.raises(ConnectorError) as no_bucket:
        _connector(s3, bucket="no-such-bucket").test()
    assert no_bucket.value.diagnosis == "not_found"
    dead = S3Connector(
        {"endpoint_url": f"http://127.0.0.1:{_free_port()}"},
        s3.admin,
        environment({"webhooks": {}, "connectors": {"timeout_s": 2}}),
    )
    with pytest.raises(ConnectorError) as refused:
        dead.test()
    assert refused.value.diagnosis == "refused"
    with pytest.raises(ConnectorError) as outside:
        _connector(s3, endpoint_url="http://8.8.8.8:9000")
    assert outside.value.diagnosis == "not_allowed"


def test_parquet_read_fetches_the_footer_first(s3: S3Server, bucket: str) -> None:
    """A Parquet object's read carries its last bytes, fetched ahead by a ranged GET, so the
    import can decode row groups as they arrive; they are the body's last bytes."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from appliance.services.datasets.streaming import TAIL_BYTES

    sink = io.BytesIO()
    pq.write_table(pa.table({"t": list(range(200_000)), "v": [i / 3 for i in range(200_000)]}), sink)
    data = sink.getvalue()
    client: Any = s3.client()
    client.put_object(Bucket=bucket, Key="trends/big.parquet", Body=data)
    client.put_object(Bucket=bucket, Key="trends/tiny.parquet", Body=b"PAR1")
    stream = _connector(s3, s3.reader).read({"bucket": bucket, "key": "trends/big.parquet"})
    assert len(data) > TAIL_BYTES and stream.tail == data[-TAIL_BYTES:]
    assert b"".join(stream.chunks) == data
    tiny = _connector(s3, s3.reader).read({"bucket": bucket, "key": "trends/tiny.parquet"})
    assert tiny.tail is None and b"".join(tiny.chunks) == b"PAR1"
    csv = _connector(s3, s3.reader).read({"bucket": bucket, "key": "historian/2026/flows.csv"})
    assert csv.tail is None
    csv.close()
