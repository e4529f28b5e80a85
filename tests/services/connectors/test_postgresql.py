"""The PostgreSQL connector against a real server: test, browse, read (COPY), write, and the
diagnosis of each failure a plant engineer meets (wrong password, nothing listening, no grant)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from appliance.services.connectors import environment
from appliance.services.connectors.base import ConnectorError
from appliance.services.connectors.postgresql import PostgresConnector
from tests.connector_servers import PostgresServer, _free_port

pytestmark = pytest.mark.xdist_group("postgres")


@pytest.fixture
def plant_db(pg_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    name = pg_server.new_database("svc_" + request.node.name[:40].lower().replace("[", "_").replace("]", ""))
    with pg_server.connect(name) as conn:
        conn.execute("CREATE TABLE readings (id bigint, tag text, value double precision)")  # type: ignore[attr-defined]
        conn.execute(  # type: ignore[attr-defined]
            "INSERT INTO readings SELECT i, 'FIT' || (i % 7), i * 0.5 FROM generate_series(1, 5000) i"
        )
        conn.execute("CREATE SCHEMA secret")  # type: ignore[attr-defined]
        conn.execute("CREATE TABLE secret.recipes (id int, body text)")  # type: ignore[attr-defined]
        conn.execute(  # type: ignore[attr-defined]
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reader') THEN"
            " CREATE ROLE reader LOGIN PASSWORD 'reader-pw'; END IF; END $$"
        )
        conn.execute("GRANT SELECT ON readings TO reader")  # type: ignore[attr-defined]
        conn.execute("GRANT USAGE ON SCHEMA secret TO reader")  # type: ignore[attr-defined]
    return name


def _connector(server: PostgresServer, db: str, user: str = "postgres", password: str = "", **over: Any) -> Any:
    settings = {"host": "127.0.0.1", "port": server.port, "database": db, "user": user, "sslmode": "disable", **over}
    env = environment({"webhooks": {}, "connectors": {"timeout_s": 3}})
    return PostgresConnector(settings, {"password": password or server.password}, env)


def test_test_browse_and_read(pg_server: PostgresServer, plant_db: str) -> None:
    con = _connector(pg_server, plant_db)
    info = con.test()
    assert info["user"] == "postgres" and info["readable_tables"] >= 2
    schemas = con.browse("", None, 50)
    assert {"public", "secret"} <= {e.name for e in schemas.entries}
    tables = con.browse("public", None, 50)
    assert [e.name for e in tables.entries] == ["readings"]
    stream = con.read({"schema": "public", "table": "readings"})
    body = b"".join(stream.chunks)
    lines = body.decode().splitlines()
    assert lines[0] == "id,tag,value" and len(lines) == 5001 and lines[1] == "1,FIT1,0.5"
    query = con.read({"query": "SELECT tag, count(*) AS n FROM readings GROUP BY tag ORDER BY tag"})
    assert b"".join(query.chunks).decode().splitlines()[:2] == ["tag,n", "FIT0,714"]


def test_browse_pages(pg_server: PostgresServer, plant_db: str) -> None:
    with pg_server.connect(plant_db) as conn:
        for i in range(5):
            conn.execute(f"CREATE TABLE t{i} (x int)")  # type: ignore[attr-defined]
    con = _connector(pg_server, plant_db)
    first = con.browse("public", None, 4)
    assert first.next_cursor is not None and len(first.entries) == 4
    rest = con.browse("public", first.next_cursor, 4)
    assert rest.next_cursor is None
    assert [e.name for e in first.entries + rest.entries] == ["readings", "t0", "t1", "t2", "t3", "t4"]


def test_query_source_cannot_write(pg_server: PostgresServer, plant_db: str) -> None:
    con = _connector(pg_server, plant_db)
    with pytest.raises(ConnectorError):
        stream = con.read({"query": "WITH gone AS (DELETE FROM readings RETURNING *) SELECT * FROM gone"})
        b"".join(stream.chunks)
    with pg_server.connect(plant_db) as conn:
        assert conn.execute("SELECT count(*) FROM readings").fetchone()[0] == 5000  # type: ignore[attr-defined]


def test_write_creates_and_appends(pg_server: PostgresServer, plant_db: str, tmp_path: Path) -> None:
    con = _connector(pg_server, plant_db)
    artifact = tmp_path / "synthetic.csv"
    artifact.write_text("id,tag,value\n1,A,1.5\n2,B,2.5\n")
    with pg_server.connect(plant_db) as conn:
        conn.execute("CREATE SCHEMA out")  # type: ignore[attr-defined]
    assert (
        con.write({"schema": "out", "table": "syn", "mode": "create"}, "synthetic.csv", "csv", artifact)[
            "rows_in_table"
        ]
        == 2
    )
    assert (
        con.write({"schema": "out", "table": "syn", "mode": "append"}, "synthetic.csv", "csv", artifact)[
            "rows_in_table"
        ]
        == 4
    )
    with pytest.raises(ConnectorError) as exists:
        con.write({"schema": "out", "table": "syn", "mode": "create"}, "synthetic.csv", "csv", artifact)
    assert exists.value.diagnosis == "invalid"


@pytest.mark.parametrize(
    ("user", "password", "diagnosis"),
    [("postgres", "wrong-password", "auth"), ("nobody_here", "x", "auth")],
)
def test_wrong_credentials(pg_server: PostgresServer, plant_db: str, user: str, password: str, diagnosis: str) -> None:
    with pytest.raises(ConnectorError) as failed:
        _connector(pg_server, plant_db, user=user, password=password).test()
    assert failed.value.diagnosis == diagnosis
    assert password not in failed.value.message


def test_unreachable_and_missing(pg_server: PostgresServer, plant_db: str) -> None:
    with pytest.raises(ConnectorError) as refused:
        _connector(pg_server, plant_db, port=_free_port()).test()
    assert refused.value.diagnosis == "refused"
    with pytest.raises(ConnectorError) as missing:
        _connector(pg_server, "no_such_db").test()
    assert missing.value.diagnosis == "not_found"
    with pytest.raises(ConnectorError) as outside:
        _connector(pg_server, plant_db, host="8.8.8.8").test()
    assert outside.value.diagnosis == "not_allowed"


def test_permission_denied(pg_server: PostgresServer, plant_db: str, tmp_path: Path) -> None:
    reader = _connector(pg_server, plant_db, user="reader", password="reader-pw")
    assert reader.test()["user"] == "reader"
    with pytest.raises(ConnectorError) as denied:
        b"".join(reader.read({"schema": "secret", "table": "recipes"}).chunks)
    assert denied.value.diagnosis == "permission"
    artifact = tmp_path / "x.csv"
    artifact.write_text("id,body\n1,a\n")
    with pytest.raises(ConnectorError) as no_write:
        reader.write({"schema": "secret", "table": "recipes", "mode": "append"}, "x.csv", "csv", artifact)
    assert no_write.value.diagnosis == "permission"


def test_closing_a_read_stops_the_server_query(pg_server: PostgresServer, plant_db: str) -> None:
    con = _connector(pg_server, plant_db)
    stream = con.read({"query": "SELECT i, repeat('x', 200) FROM generate_series(1, 50000000) i"})
    first = next(stream.chunks)
    assert first.startswith(b"i,repeat")
    stream.close()
    deadline = time.monotonic() + 10
    with pg_server.connect(plant_db) as conn:
        while True:
            busy = conn.execute(  # type: ignore[attr-defined]
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sealforge'"
            ).fetchone()[0]
            if busy == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert busy == 0, "the server still runs the canceled COPY"


def test_timeout_and_tls(pg_server: PostgresServer, plant_db: str) -> None:
    import socket

    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        env = environment({"webhooks": {}, "connectors": {"timeout_s": 1}})
        settings = {
            "host": "127.0.0.1",
            "port": silent.getsockname()[1],
            "database": plant_db,
            "user": "postgres",
            "sslmode": "disable",
        }
        with pytest.raises(ConnectorError) as slow:
            PostgresConnector(settings, {"password": pg_server.password}, env).test()
    assert slow.value.diagnosis == "timeout"
    with pytest.raises(ConnectorError) as tls:
        _connector(pg_server, plant_db, sslmode="require").test()  # the test server has no certificate
    assert tls.value.diagnosis == "tls"
