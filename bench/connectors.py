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

    .venv/bin/python bench/connectors.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import sys
import tempfile
import time
from pathlib import Path

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
    from appliance.cli.release import release
    from appliance.jobs import operations
    from appliance.jobs.queues import QUEUES
    from appliance.jobs.tasks import runtime
    from appliance.services import identity
    from appliance.services.connectors import environment, manage
    from appliance.store.open import open_db

    conn = open_db(state)
    tenant = identity.create_tenant(conn, "bench", credits=1000)
    settings = {"host": server.host, "port": server.port, "database": db, "user": server.user, "sslmode": "disable"}
    con = manage.create(
        conn,
        state / "keys",
        environment({"webhooks": {}}),
        tenant["id"],
        {"name": "pg", "type": "postgresql", "settings": settings, "credentials": {"password": server.password}},
    )
    start = time.perf_counter()
    body = manage.import_body(conn, tenant["id"], con["id"], {"source": {"table": "t"}, "name": "t"})
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
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
