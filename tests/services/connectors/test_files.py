"""The folder and SQLite-file connectors on a real folder: browse, read, write, and the refusals
that keep a tenant inside the folder roots."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from appliance.services.connectors import environment
from appliance.services.connectors.base import ConnectorError, Environment
from appliance.services.connectors.folder import FolderConnector
from appliance.services.connectors.sqlite_file import SqliteConnector


@pytest.fixture
def env(tmp_path: Path) -> Environment:
    return environment({"webhooks": {}, "connectors": {"folder_roots": [str(tmp_path / "mnt")]}})


@pytest.fixture
def usb(tmp_path: Path) -> Path:
    root = tmp_path / "mnt" / "usb"
    (root / "logs").mkdir(parents=True)
    (root / "flows.csv").write_text("t,flow\n1,2.5\n2,2.7\n")
    (root / "logs" / "a.jsonl").write_text('{"x": 1}\n')
    return root


def test_folder_browse_read_write(env: Environment, usb: Path, tmp_path: Path) -> None:
    con = FolderConnector({"path": str(usb)}, env)
    assert con.test()["readable"]
    top = con.browse("", None, 10)
    assert [(e.name, e.kind) for e in top.entries] == [("flows.csv", "file"), ("logs", "folder")]
    assert top.entries[0].detail == {"format": "csv"} and top.entries[0].size == 19
    assert [e.path for e in con.browse("logs", None, 10).entries] == ["logs/a.jsonl"]
    page = con.browse("", None, 1)
    assert page.next_cursor == "flows.csv" and con.browse("", page.next_cursor, 1).entries[0].name == "logs"
    stream = con.read({"path": "flows.csv"})
    assert stream.format == "csv" and b"".join(stream.chunks) == (usb / "flows.csv").read_bytes()
    artifact = tmp_path / "synthetic.parquet"
    artifact.write_bytes(b"PAR1 not really")
    written = con.write({"folder": "out"}, "synthetic.parquet", "parquet", artifact)
    assert written == {"path": "out/synthetic.parquet", "bytes": 15}
    assert (usb / "out" / "synthetic.parquet").stat().st_mode & 0o777 == 0o644  # others may read it, not 0600
    with pytest.raises(ConnectorError) as exists:
        con.write({"folder": "out"}, "synthetic.parquet", "parquet", artifact)
    assert exists.value.diagnosis == "invalid"
    assert con.write({"folder": "out", "overwrite": True}, "synthetic.parquet", "parquet", artifact)["bytes"] == 15


def test_folder_refuses_to_leave(env: Environment, usb: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("no")
    with pytest.raises(ConnectorError) as outside_root:
        FolderConnector({"path": str(tmp_path)}, env)
    assert outside_root.value.diagnosis == "not_allowed"
    con = FolderConnector({"path": str(usb)}, env)
    for path in ("../../secret.txt", "/etc/passwd"):
        with pytest.raises(ConnectorError) as climbing:
            con.read({"path": path})
        assert climbing.value.diagnosis in ("not_allowed", "not_found")
    (usb / "link").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(ConnectorError) as link:
        con.read({"path": "link", "format": "csv"})
    assert link.value.diagnosis == "not_allowed"
    with pytest.raises(ConnectorError) as missing:
        con.read({"path": "nope.csv"})
    assert missing.value.diagnosis == "not_found"
    with pytest.raises(ConnectorError) as gone:
        FolderConnector({"path": str(usb / "unplugged")}, env).test()
    assert gone.value.diagnosis == "not_found"


def test_sqlite_browse_read_write(env: Environment, usb: Path, tmp_path: Path) -> None:
    db = usb / "hmi.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE alarms (id INTEGER, tag TEXT, level REAL)")
        conn.executemany("INSERT INTO alarms VALUES (?, ?, ?)", [(i, f"LIT{i % 3}", i / 4) for i in range(1, 101)])
    con = SqliteConnector({"path": str(db)}, env)
    assert con.test()["tables"] == 1
    assert [e.name for e in con.browse("", None, 10).entries] == ["alarms"]
    assert [(e.name, e.detail["type"]) for e in con.browse("alarms", None, 10).entries][1] == ("tag", "TEXT")
    lines = b"".join(con.read({"table": "alarms"}).chunks).decode().splitlines()
    assert lines[0] == "id,tag,level" and lines[1] == "1,LIT1,0.25" and len(lines) == 101
    with pytest.raises(ConnectorError) as ro:
        b"".join(con.read({"query": "DELETE FROM alarms RETURNING id"}).chunks)
    assert ro.value.diagnosis == "permission"
    artifact = tmp_path / "syn.csv"
    artifact.write_text("id,tag,level\n1,A,0.5\n2,B,1.5\n")
    assert con.write({"table": "syn", "mode": "create"}, "syn.csv", "csv", artifact) == {"table": "syn", "rows": 2}
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT tag, level FROM syn ORDER BY id").fetchall() == [("A", 0.5), ("B", 1.5)]
    with pytest.raises(ConnectorError) as missing:
        con.write({"table": "absent", "mode": "append"}, "syn.csv", "csv", artifact)
    assert missing.value.diagnosis == "not_found"
    with pytest.raises(ConnectorError) as no_table:
        b"".join(con.read({"table": "absent"}).chunks)
    assert no_table.value.diagnosis == "not_found"
    (usb / "junk.db").write_bytes(b"x" * 200)
    with pytest.raises(ConnectorError) as junk:
        SqliteConnector({"path": str(usb / "junk.db")}, env).test()
    assert junk.value.diagnosis == "invalid"
