"""The SFTP connector against OpenSSH's sshd on loopback: test (with the host key it saw), browse,
read, write (atomic, existing files kept), and the diagnosis of a wrong key or password, a
changed host key, nothing listening, a path out of the folder, and a folder it may not write."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from appliance.services.connectors import environment
from appliance.services.connectors.base import ConnectorError
from appliance.services.connectors.sftp import SftpConnector
from tests.connector_servers import _free_port
from tests.remote_servers import SftpServer

pytestmark = pytest.mark.xdist_group("sshd")


def _connector(server: SftpServer, credentials: dict[str, str] | None = None, **over: Any) -> Any:
    settings = {"host": "127.0.0.1", "port": server.port, "user": server.user, "folder": str(server.files), **over}
    env = environment({"webhooks": {}, "connectors": {"timeout_s": 5}})
    return SftpConnector(settings, credentials or {"private_key": server.private_key}, env)


def test_test_browse_read(sshd: SftpServer) -> None:
    con = _connector(sshd, host_key_sha256=sshd.host_key_sha256)
    assert con.test()["host_key_sha256"] == sshd.host_key_sha256
    top = con.browse("", None, 50).entries
    assert [(e.name, e.kind) for e in top] == [("exports", "folder"), ("readonly", "folder")]
    files = con.browse("exports", None, 1)
    assert [e.path for e in files.entries] == ["exports/flows.csv"] and files.next_cursor == "flows.csv"
    assert files.entries[0].detail["format"] == "csv" and files.entries[0].size
    assert [e.name for e in con.browse("exports", files.next_cursor, 1).entries] == ["recipe.csv"]
    stream = con.read({"path": "exports/flows.csv"})
    body = b"".join(stream.chunks)
    assert stream.format == "csv" and body == (sshd.files / "exports" / "flows.csv").read_bytes()


def test_write_is_atomic_and_keeps_existing(sshd: SftpServer, tmp_path: Path) -> None:
    con = _connector(sshd)
    artifact = tmp_path / "synthetic.csv"
    artifact.write_bytes(b"t,flow\n1,2.5\n" * 50_000)
    done = con.write({"folder": "exports"}, "synthetic.csv", "csv", artifact)
    assert done["bytes"] == artifact.stat().st_size
    assert (sshd.files / "exports" / "synthetic.csv").read_bytes() == artifact.read_bytes()
    with pytest.raises(ConnectorError) as exists:
        con.write({"folder": "exports"}, "synthetic.csv", "csv", artifact)
    assert exists.value.diagnosis == "invalid"
    artifact.write_text("t,flow\n9,9\n")
    con.write({"folder": "exports", "overwrite": True}, "synthetic.csv", "csv", artifact)
    assert (sshd.files / "exports" / "synthetic.csv").read_text() == "t,flow\n9,9\n"
    assert not [p for p in (sshd.files / "exports").iterdir() if p.name.startswith(".")]
    (sshd.files / "exports" / "synthetic.csv").unlink()  # the session's server stays as seeded


def test_wrong_credentials_and_host_key(sshd: SftpServer, tmp_path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    other_key = (tmp_path / "k").read_text()
    for credentials in ({"private_key": other_key}, {"password": "not-the-password"}):
        with pytest.raises(ConnectorError) as failed:
            _connector(sshd, credentials).test()
        assert failed.value.diagnosis == "auth" and "not-the-password" not in failed.value.message
    with pytest.raises(ConnectorError) as changed:
        _connector(sshd, host_key_sha256="SHA256:" + "A" * 43).test()
    assert changed.value.diagnosis == "tls" and sshd.host_key_sha256 in changed.value.message


def test_unreachable_outside_and_missing(sshd: SftpServer) -> None:
    with pytest.raises(ConnectorError) as refused:
        _connector(sshd, port=_free_port()).test()
    assert refused.value.diagnosis == "refused"
    with pytest.raises(ConnectorError) as outside:
        _connector(sshd, host="8.8.8.8").test()
    assert outside.value.diagnosis == "not_allowed"
    con = _connector(sshd)
    with pytest.raises(ConnectorError) as climbs:
        con.read({"path": "../../etc/passwd"})
    assert climbs.value.diagnosis == "not_allowed"
    with pytest.raises(ConnectorError) as missing:
        con.read({"path": "exports/nope.csv"})
    assert missing.value.diagnosis == "not_found"
    with pytest.raises(ConnectorError) as no_folder:
        _connector(sshd, folder=str(sshd.files / "nope")).test()
    assert no_folder.value.diagnosis == "not_found"


def test_permission_denied(sshd: SftpServer, tmp_path: Path) -> None:
    if sshd.user == "root":
        pytest.skip("the SFTP server runs as root here, which no file permission stops")
    con = _connector(sshd)
    artifact = tmp_path / "x.csv"
    artifact.write_text("a\n1\n")
    with pytest.raises(ConnectorError) as no_write:
        con.write({"folder": "readonly"}, "x.csv", "csv", artifact)
    assert no_write.value.diagnosis == "permission"
    with pytest.raises(ConnectorError) as no_read:
        b"".join(con.read({"path": "exports/recipe.csv"}).chunks)
    assert no_read.value.diagnosis == "permission"


def test_closing_a_read_closes_the_session(sshd: SftpServer) -> None:
    big = sshd.files / "exports" / "big.csv"
    with big.open("wb") as fh:
        fh.write(b"t,v\n")
        fh.truncate(64 << 20)
    con = _connector(sshd)
    stream = con.read({"path": "exports/big.csv"})
    assert next(stream.chunks).startswith(b"t,v\n")
    stream.close()
    assert list(stream.chunks) == []
    big.unlink()
