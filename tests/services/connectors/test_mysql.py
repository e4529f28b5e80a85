"""The MySQL/MariaDB connector against Debian's MariaDB on loopback: test, browse, a streaming
read, writes, and the diagnosis of each failure (wrong password, nothing listening, no grant),
and a read closed early that stops the statement on the server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from appliance.services.connectors import environment
from appliance.services.connectors.base import ConnectorError
from appliance.services.connectors.mysql import MysqlConnector
from tests.connector_servers import _free_port
from tests.remote_servers import MariaServer

pytestmark = pytest.mark.xdist_group("mariadb")


def _connector(server: MariaServer, user: str = "engineer", password: str = "engineer-pw", **over: Any) -> Any:
    settings = {"host": "127.0.0.1", "port": server.port, "database": "plant", "user": user, "tls": "disable", **over}
    env = environment({"webhooks": {}, "connectors": {"timeout_s": 3}})
    return MysqlConnector(settings, {"password": password}, env)


def test_test_browse_and_read(maria: MariaServer) -> None:
    con = _connector(maria)
    info = con.test()
    assert info["user"] == "engineer@%" and info["visible_tables"] == 1
    assert [e.name for e in con.browse("", None, 50).entries] == ["plant"]
    tables = con.browse("plant", None, 50).entries
    assert [(e.name, e.kind) for e in tables] == [("readings", "table")]
    body = b"".join(con.read({"table": "readings"}).chunks).decode().splitlines()
    assert body[0] == "id,tag,value,raw" and len(body) == 5001 and body[1] == "1,FIT1,0.5,ff00"
    query = con.read({"query": "SELECT tag, COUNT(*) AS n FROM readings GROUP BY tag ORDER BY tag"})
    assert b"".join(query.chunks).decode().splitlines()[:2] == ["tag,n", "FIT0,714"]
    prefer = _connector(maria, tls="prefer")  # this server has no TLS: prefer falls back to clear text
    assert prefer.test()["user"] == "engineer@%"


def test_browse_pages(maria: MariaServer) -> None:
    maria.run(*(f"CREATE TABLE IF NOT EXISTS plant.t{i} (x INT)" for i in range(5)))
    con = _connector(maria)
    first = con.browse("plant", None, 4)
    assert first.next_cursor is not None and len(first.entries) == 4
    rest = con.browse("plant", first.next_cursor, 4)
    assert rest.next_cursor is None
    assert [e.name for e in first.entries + rest.entries] == ["readings", "t0", "t1", "t2", "t3", "t4"]
    maria.run(*(f"DROP TABLE plant.t{i}" for i in range(5)))


def test_query_source_cannot_write(maria: MariaServer) -> None:
    con = _connector(maria)
    with pytest.raises(ConnectorError) as refused:
        b"".join(con.read({"query": "DELETE FROM readings"}).chunks)
    assert refused.value.diagnosis == "invalid"
    conn = maria.admin("plant")
    with conn.cursor() as cur:  # type: ignore[attr-defined]
        cur.execute("SELECT COUNT(*) FROM readings")
        assert cur.fetchone()[0] == 5000
    conn.close()  # type: ignore[attr-defined]


def test_write_creates_appends_and_refuses(maria: MariaServer, tmp_path: Path) -> None:
    con = _connector(maria)
    artifact = tmp_path / "synthetic.csv"
    artifact.write_text("id,tag,value,ok\n1,A,1.5,true\n2,B,2.5,false\n")
    made = con.write({"table": "syn", "mode": "create"}, "synthetic.csv", "csv", artifact)
    assert made["rows_in_table"] == 2
    assert con.write({"table": "syn"}, "synthetic.csv", "csv", artifact)["rows_in_table"] == 4
    with pytest.raises(ConnectorError) as exists:
        con.write({"table": "syn", "mode": "create"}, "synthetic.csv", "csv", artifact)
    assert exists.value.diagnosis == "invalid"
    with pytest.raises(ConnectorError) as missing:
        con.write({"table": "nope"}, "synthetic.csv", "csv", artifact)
    assert missing.value.diagnosis == "not_found"
    back = b"".join(con.read({"table": "syn"}).chunks).decode().splitlines()
    assert back[:3] == ["id,tag,value,ok", "1,A,1.5,1", "2,B,2.5,0"]
    assert con.write({"table": "syn", "mode": "replace"}, "synthetic.csv", "csv", artifact)["rows_in_table"] == 2


@pytest.mark.parametrize(("user", "password"), [("engineer", "wrong-password"), ("nobody_here", "x")])
def test_wrong_credentials(maria: MariaServer, user: str, password: str) -> None:
    with pytest.raises(ConnectorError) as failed:
        _connector(maria, user=user, password=password).test()
    assert failed.value.diagnosis == "auth"
    assert password not in failed.value.message


def test_unreachable_missing_and_outside(maria: MariaServer) -> None:
    with pytest.raises(ConnectorError) as refused:
        _connector(maria, port=_free_port()).test()
    assert refused.value.diagnosis == "refused"
    with pytest.raises(ConnectorError) as missing:
        _connector(maria, user="root", password="", database="no_such_db").test()
    assert missing.value.diagnosis in ("not_found", "auth")  # root has no TCP login here
    with pytest.raises(ConnectorError) as no_db:
        _connector(maria, database="secret").test()
    assert no_db.value.diagnosis == "permission"
    with pytest.raises(ConnectorError) as outside:
        _connector(maria, host="8.8.8.8").test()
    assert outside.value.diagnosis == "not_allowed"


def test_permission_denied(maria: MariaServer, tmp_path: Path) -> None:
    reader = _connector(maria, user="reader", password="reader-pw")
    assert reader.test()["visible_tables"] == 1
    with pytest.raises(ConnectorError) as denied:
        b"".join(reader.read({"database": "secret", "table": "recipes"}).chunks)
    assert denied.value.diagnosis == "permission"
    artifact = tmp_path / "x.csv"
    artifact.write_text("id,tag,value,raw\n1,a,2,x\n")
    with pytest.raises(ConnectorError) as no_write:
        reader.write({"table": "readings"}, "x.csv", "csv", artifact)
    assert no_write.value.diagnosis == "permission"


def test_closing_a_read_kills_the_server_statement(maria: MariaServer) -> None:
    con = _connector(maria)
    endless = "SELECT a.id, REPEAT('x', 200) AS pad FROM readings a, readings b, readings c"  # 1.25e11 rows
    stream = con.read({"query": endless})
    assert next(stream.chunks).startswith(b"id,pad")
    stream.close()
    deadline = time.monotonic() + 10
    conn = maria.admin()
    while True:
        with conn.cursor() as cur:  # type: ignore[attr-defined]
            cur.execute("SELECT COUNT(*) FROM information_schema.processlist WHERE user = 'engineer'")
            busy = cur.fetchone()[0]
        if busy == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    conn.close()  # type: ignore[attr-defined]
    assert busy == 0, "the server still runs the canceled SELECT"
