"""The FTP/FTPS connector against pyftpdlib on loopback (explicit TLS offered): test, browse,
read and write in clear and over TLS, and the diagnosis of a wrong password, an untrusted
certificate, nothing listening, a path out of the folder, and folders the account may not use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from appliance.services.connectors import environment
from appliance.services.connectors.base import ConnectorError
from appliance.services.connectors.ftp import FtpConnector
from tests.connector_servers import _free_port
from tests.remote_servers import FtpServer

pytestmark = pytest.mark.xdist_group("ftpd")


def _connector(server: FtpServer, user: str = "plant", password: str | None = None, **over: Any) -> Any:
    settings = {"host": "127.0.0.1", "port": server.port, "user": user, "ca_certificate": server.certificate, **over}
    env = environment({"webhooks": {}, "connectors": {"timeout_s": 5}})
    return FtpConnector(settings, {"password": server.users[user] if password is None else password}, env)


@pytest.mark.parametrize("tls", ["explicit", "none"])
def test_test_browse_read_write(ftpd: FtpServer, tls: str, tmp_path: Path) -> None:
    con = _connector(ftpd, tls=tls)
    assert con.test()["tls"] is (tls == "explicit")
    top = con.browse("", None, 2)
    assert [(e.name, e.kind) for e in top.entries] == [("exports", "folder"), ("readonly", "folder")]
    assert [e.name for e in con.browse("", top.next_cursor, 2).entries] == ["secret"]
    files = con.browse("exports", None, 50).entries
    assert files[0].path == "exports/flows.csv" and files[0].detail["format"] == "csv" and files[0].size
    stream = con.read({"path": "exports/flows.csv"})
    assert b"".join(stream.chunks) == (ftpd.files / "exports" / "flows.csv").read_bytes()
    artifact = tmp_path / "synthetic.csv"
    artifact.write_bytes(b"t,flow\n1,2.5\n" * 100_000)
    name = f"synthetic-{tls}.csv"
    assert con.write({"folder": "exports"}, name, "csv", artifact)["bytes"] == artifact.stat().st_size
    assert (ftpd.files / "exports" / name).read_bytes() == artifact.read_bytes()
    with pytest.raises(ConnectorError) as exists:
        con.write({"folder": "exports"}, name, "csv", artifact)
    assert exists.value.diagnosis == "invalid"
    artifact.write_text("t,flow\n9,9\n")
    con.write({"folder": "exports", "overwrite": True}, name, "csv", artifact)
    assert (ftpd.files / "exports" / name).read_text() == "t,flow\n9,9\n"
    assert not [p for p in (ftpd.files / "exports").iterdir() if p.name.startswith(".")]
    (ftpd.files / "exports" / name).unlink()  # the session's server stays as seeded


def test_wrong_password_and_untrusted_certificate(ftpd: FtpServer) -> None:
    with pytest.raises(ConnectorError) as failed:
        _connector(ftpd, password="not-the-password").test()
    assert failed.value.diagnosis == "auth" and "not-the-password" not in failed.value.message
    with pytest.raises(ConnectorError) as untrusted:
        _connector(ftpd, ca_certificate=None).test()
    assert untrusted.value.diagnosis == "tls"
    assert _connector(ftpd, ca_certificate=None, verify_tls=False).test()["tls"] is True


def test_unreachable_outside_and_missing(ftpd: FtpServer) -> None:
    with pytest.raises(ConnectorError) as refused:
        _connector(ftpd, port=_free_port()).test()
    assert refused.value.diagnosis == "refused"
    with pytest.raises(ConnectorError) as outside:
        _connector(ftpd, host="8.8.8.8").test()
    assert outside.value.diagnosis == "not_allowed"
    con = _connector(ftpd, folder="exports")
    with pytest.raises(ConnectorError) as climbs:
        con.read({"path": "../secret/recipe.csv"})
    assert climbs.value.diagnosis == "not_allowed"
    with pytest.raises(ConnectorError) as missing:
        con.read({"path": "nope.csv"})
    assert missing.value.diagnosis == "not_found"


def test_permission_denied(ftpd: FtpServer, tmp_path: Path) -> None:
    artifact = tmp_path / "x.csv"
    artifact.write_text("a\n1\n")
    with pytest.raises(ConnectorError) as read_only:
        _connector(ftpd).write({"folder": "readonly"}, "x.csv", "csv", artifact)
    assert read_only.value.diagnosis == "permission"
    with pytest.raises(ConnectorError) as viewer:
        _connector(ftpd, user="viewer").write({"folder": "exports"}, "x.csv", "csv", artifact)
    assert viewer.value.diagnosis == "permission"
    with pytest.raises(ConnectorError) as no_read:
        b"".join(_connector(ftpd).read({"path": "secret/recipe.csv"}).chunks)
    assert no_read.value.diagnosis == "permission"


def test_closing_a_read_ends_the_transfer(ftpd: FtpServer) -> None:
    big = ftpd.files / "exports" / "big.csv"
    with big.open("wb") as fh:
        fh.write(b"t,v\n")
        fh.truncate(64 << 20)
    stream = _connector(ftpd).read({"path": "exports/big.csv"})
    assert next(stream.chunks).startswith(b"t,v\n")
    stream.close()
    assert list(stream.chunks) == []
    big.unlink()
