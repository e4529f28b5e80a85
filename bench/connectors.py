"""Benchmark: importing a PostgreSQL table through a connector, beside the bare client library.

- Server: Debian's PostgreSQL on a free loopback port (the tests' `postgres_server`), one table of
  ``--rows`` rows × 10 columns (a bigint id, a timestamptz, two text columns, six doubles).
- Peer: psycopg 3 alone, ``COPY (SELECT * FROM t) TO STDOUT (FORMAT csv, HEADER)`` written to a
  file: the read a script would do by hand.
- Sealforge, read: the connector's `read` (the same COPY, READ ONLY, through the network policy)
  with what the `connector_import` kind does per chunk (BLAKE3, SHA-256, cancel check, the write).
- Sealforge, job: a whole `connector_import` job, submitted through the job engine and run by the
  runner as a worker would: the read above, the dataset validator (the upload's, parsing every
  row), the blob store, the artifact and the seal.

Both sides read from the same server; the ratio is peer time / Sealforge time (1.0 = as fast).
The peak RSS of the process (all three runs in it) shows whether the import stays in bounded memory.

With ``--s3-mb N`` it measures S3 instead: one Parquet object of about N MB (ten columns of random
doubles) on moto's S3 server (the tests' `s3_server`), fetched by boto3's ``download_file`` (the
peer the issue names), by one streamed ``get_object`` (the GET the connector makes) and imported by
a whole `connector_import` job of the s3 type (the footer's ranged GET, the read, the Parquet check
of every page as the row groups arrive, the blob store, the artifact and the seal), with the peak
RSS before and after the job.

    .venv/bin/python bench/connectors.py [--rows 1000000]
    .venv/bin/python bench/connectors.py --s3-mb 1000
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import blake3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.connector_servers import PostgresServer, postgres_server  # noqa: E402


def _table(server: PostgresServer, rows: int) -> str:
    db = server.new_database("bench")
    with server.connect(db) as conn:
        conn.execute(  # type: ignore[attr-defined]
            "CREATE TABLE t AS SELECT i AS id, timestamptz '2026-01-01' + i * interval '1 second' AS at,"
            " 'site-' || (i %% 7) AS site, md5(i::text) AS tag, random() AS v1, random() * 10 AS v2,"
            " random() * 100 AS v3, i / 3.0 AS v4, sqrt(i) AS v5, ln(i + 1) AS v6 FROM generate_series(1, %s) i",
            (rows,),
        )
        conn.execute("VACUUM ANALYZE t")  # type: ignore[attr-defined]
    return db


def _bare(server: PostgresServer, db: str, out: Path) -> tuple[float, int]:
    import psycopg

    start = time.perf_counter()
    conn = psycopg.connect(host=server.host, port=server.port, user=server.user, password=server.password, dbname=db)
    with (
        conn,
        out.open("wb") as fh,
        conn.cursor().copy("COPY (SELECT * FROM t) TO STDOUT (FORMAT csv, HEADER)") as copy,
    ):
        for data in copy:
            fh.write(data)
    return time.perf_counter() - start, out.stat().st_size


def _connector_read(server: PostgresServer, db: str, out: Path) -> tuple[float, int]:
    from appliance.services.connectors import environment
    from appliance.services.connectors.postgresql import PostgresConnector

    settings = {"host": server.host, "port": server.port, "database": db, "user": server.user, "sslmode": "disable"}
    con = PostgresConnector(settings, {"password": server.password}, environment({"webhooks": {}}))
    start = time.perf_counter()
    stream = con.read({"schema": "public", "table": "t"})
    b3, sha = blake3.blake3(), hashlib.sha256()
    with out.open("wb") as fh:
        for chunk in stream.chunks:
            fh.write(chunk)
            b3.update(chunk)
            sha.update(chunk)
    return time.perf_counter() - start, out.stat().st_size


def _job(server: PostgresServer, db: str, state: Path) -> tuple[float, int]:
    settings = {"host": server.host, "port": server.port, "database": db, "user": server.user, "sslmode": "disable"}
    connector = {"name": "pg", "type": "postgresql", "settings": settings, "credentials": {"password": server.password}}
    return _import_job(state, connector, {"table": "t"})


def _import_job(state: Path, connector: dict[str, Any], source: dict[str, str]) -> tuple[float, int]:
    """A whole `connector_import` job of ``source`` through the job engine, run inline as a worker
    runs it; returns (seconds, bytes imported)."""
    from appliance.cli.release import release
    from appliance.jobs import operations
    from appliance.jobs.queues import QUEUES
    from appliance.jobs.tasks import runtime
    from appliance.services import identity
    from appliance.services.connectors import environment, manage
    from appliance.store.open import open_db

    # what a worker has loaded after its first job (the peers' libraries are imported before
    # their clocks start too): the kind, the dataset checks and pyarrow's parsers and kernels
    importlib.import_module("appliance.kinds.connectors")
    for module in ("formats", "streaming", "ingest"):
        with contextlib.suppress(ImportError):  # streaming.py is newer than some trees this measures
            importlib.import_module(f"appliance.services.datasets.{module}")
    conn = open_db(state)
    tenant = identity.create_tenant(conn, "bench", credits=1000)
    con = manage.create(conn, state / "keys", environment({"webhooks": {}}), tenant["id"], connector)
    start = time.perf_counter()
    body = manage.import_body(conn, tenant["id"], con["id"], {"source": source, "name": "t"})
    job = operations.submit(conn, state, tenant["id"], "bench", body, 1)
    for queue in QUEUES:
        huey = runtime(state, queue).huey
        while (task := huey.dequeue()) is not None:
            huey.execute(task)
    elapsed = time.perf_counter() - start
    done = operations.require_job(conn, tenant["id"], job["id"])
    if done["status"] != "succeeded":
        raise SystemExit(f"the import job ended {done['status']}: {done.get('error_message')}")
    release(state)
    return elapsed, int(operations.view(done)["result"]["bytes"])


def _parquet_file(path: Path, mb: int) -> None:
    """About ``mb`` MB of Parquet: ten columns of random doubles (they do not compress, so the
    object is as large as its data), written a 200,000-row group at a time."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng, group, names = np.random.default_rng(0), 200_000, [f"v{i}" for i in range(10)]
    schema = pa.schema([(n, pa.float64()) for n in names])
    with pq.ParquetWriter(path, schema) as writer:
        for _ in range(max(1, mb * 1_000_000 // (group * 80))):
            writer.write_table(pa.table({n: rng.random(group) for n in names}, schema=schema))


def _get_object(client: Any, out: Path) -> None:
    """One GET of the whole object, its body streamed to ``out`` a megabyte at a time (what the
    connector does), then the file removed."""
    body = client.get_object(Bucket="bench", Key="trends/object.parquet")["Body"]
    with out.open("wb") as fh:
        for chunk in body.iter_chunks(1 << 20):
            fh.write(chunk)
    out.unlink()


def _s3(mb: int) -> None:
    """The S3 side: one Parquet object on moto's server, fetched by boto3's `download_file` (the
    peer the issue names: ranged GETs on ten threads), by one streamed `get_object` (the single GET
    the connector makes) and imported by a `connector_import` job of the s3 type."""
    from tests.connector_servers import s3_server

    with s3_server() as server, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        _parquet_file(work / "object.parquet", mb)
        client: Any = server.client()
        client.create_bucket(Bucket="bench")
        client.upload_file(str(work / "object.parquet"), "bench", "trends/object.parquet")
        size = (work / "object.parquet").stat().st_size
        (work / "object.parquet").unlink()
        setup_s = time.perf_counter() - start
        _get_object(client, work / "warm.parquet")  # the server's first read of the object, for neither side
        start = time.perf_counter()
        client.download_file("bench", "trends/object.parquet", str(work / "bare.parquet"))
        bare_s = time.perf_counter() - start
        (work / "bare.parquet").unlink()
        start = time.perf_counter()
        _get_object(client, work / "get.parquet")
        get_s = time.perf_counter() - start
        (work / "state").mkdir()
        before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        connector = {
            "name": "nas",
            "type": "s3",
            "settings": {"endpoint_url": server.url, "bucket": "bench"},
            "credentials": server.admin,
        }
        job_s, job_size = _import_job(work / "state", connector, {"key": "trends/object.parquet"})
        assert job_size == size, (job_size, size)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        mb_size = size / 1e6
        print(f"one Parquet object of {mb_size:.1f} MB on moto's S3 server (made and uploaded in {setup_s:.1f} s)")
        print(f"boto3 download_file         {bare_s:6.2f} s  {mb_size / bare_s:7.1f} MB/s")
        print(f"boto3 get_object, streamed  {get_s:6.2f} s  {mb_size / get_s:7.1f} MB/s")
        print(
            f"s3 connector_import job     {job_s:6.2f} s  {mb_size / job_s:7.1f} MB/s"
            f"  ratio {bare_s / job_s:.2f}x (download_file), {get_s / job_s:.2f}x (get_object)"
        )
        print(f"peak RSS: {before_mb:.0f} MB before the job, {peak_mb:.0f} MB after it ({mb_size:.0f} MB object)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--s3-mb", type=int, default=0, help="run the S3 bench on a Parquet object this large instead")
    args = parser.parse_args()
    if args.s3_mb:
        _s3(args.s3_mb)
        return
    with postgres_server() as server, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = _table(server, args.rows)
        _bare(server, db, work / "warm.csv")  # server cache warm for both sides
        bare_s, size = _bare(server, db, work / "bare.csv")
        read_s, read_size = _connector_read(server, db, work / "read.csv")
        (work / "state").mkdir()
        before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        job_s, job_size = _job(server, db, work / "state")
        assert size == read_size == job_size, (size, read_size, job_size)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        mb = size / 1e6
        print(f"{args.rows:,} rows x 10 columns, {mb:.1f} MB of CSV")
        print(f"psycopg COPY alone          {bare_s:6.2f} s  {mb / bare_s:7.1f} MB/s")
        print(f"connector read (+ hashes)   {read_s:6.2f} s  {mb / read_s:7.1f} MB/s  ratio {bare_s / read_s:.2f}x")
        print(f"connector_import job (all)  {job_s:6.2f} s  {mb / job_s:7.1f} MB/s  ratio {bare_s / job_s:.2f}x")
        print(f"peak RSS: {before_mb:.0f} MB before the job, {peak_mb:.0f} MB after it (the CSV is {mb:.0f} MB)")


if __name__ == "__main__":
    main()
