"""The SMB connector against Debian's smbd on loopback (SMB 3, encrypted): test, browse, read,
write (atomic, existing files kept), and the diagnosis of a wrong password, nothing listening, a
missing share, a path out of the folder, a folder the account may not write and a read-only
share, and a read closed early."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from appliance.services.connectors import environment
from appliance.services.connectors.base import ConnectorError
from appliance.services.connectors.smb import SmbConnector
from tests.connector_servers import _free_port
from tests.remote_servers import SmbServer

pytestmark = pytest.mark.xdist_group("smbd")


def _connector(server: SmbServer, password: str | None = None, **over: Any) -> Any:
    settings = {"host": "127.0.0.1", "port": server.port, "share": "plant", "user": server.user, **over}
    env = environment({"webhooks": {}, "connectors": {"timeout_s": 5}})
    return SmbConnector(settings, {"password": password or server.password}, env)


def test_test_browse_read_write(smbd: SmbServer, tmp_path: Path) -> None:
    con = _connector(smbd)
    assert con.test()["share"] == "plant"
    top = con.browse("", None, 1)
    assert [(e.name, e.kind) for e in top.entries] == [("exports", "folder")] and top.next_cursor == "exports"
    files = con.browse("exports", None, 50).entries
    assert files[0].path == "exports/flows.csv" and files[0].size and files[0].detail["format"] == "csv"
    assert (
        b"".join(con.read({"path": "exports/flows.csv"}).chunks) == (smbd.files / "exports" / "flows.csv").read_bytes()
    )
    artifact = tmp_path / "synthetic.csv"
    artifact.write_bytes(b"t,flow\n1,2.5\n" * 200_000)
    assert con.write({"folder": "exports"}, "synthetic.csv", "csv", artifact)["bytes"] == artifact.stat().st_size
    assert (smbd.files / "exports" / "synthetic.csv").read_bytes() == artifact.read_bytes()
    with pytest.raises(ConnectorError) as exists:
        con.write({"folder": "exports"}, "synthetic.csv", "csv", artifact)
    assert exists.value.diagnosis == "invalid"
    artifact.write_text("t,flow\n9,9\n")
    con.write({"folder": "exports", "overwrite": True}, "synthetic.csv", "csv", artifact)
    assert (smbd.files / "exports" / "synthetic.csv").read_text() == "t,flow\n9,9\n"
    assert not [p for p in (smbd.files / "exports").iterdir() if p.name.startswith(".")]
    (smbd.files / "exports" / "synthetic.csv").unlink()  # the session's server stays as seeded


def test_wrong_credentials_unreachable_missing(smbd: SmbServer) -> None:
    with pytest.raises(ConnectorError) as failed:
        _connector(smbd, password="not-the-password").test()
    assert failed.value.diagnosis == "auth" and "not-the-password" not in failed.value.message
    with pytest.raises(ConnectorError) as refused:
        _connector(smbd, port=_free_port()).test()
    assert refused.value.diagnosis == "refused"
    with pytest.raises(ConnectorError) as outside:
        _connector(smbd, host="8.8.8.8").test()
    assert outside.value.diagnosis == "not_allowed"
    with pytest.raises(ConnectorError) as no_share:
        _connector(smbd, share="nope").test()
    assert no_share.value.diagnosis == "not_found", no_share.value.message
    con = _connector(smbd, folder="exports")
    with pytest.raises(ConnectorError) as climbs:
        con.read({"path": "../readonly/x.csv"})
    assert climbs.value.diagnosis == "not_allowed"
    with pytest.raises(ConnectorError) as missing:
        con.read({"path": "nope.csv"})
    assert missing.value.diagnosis == "not_found"


def test_permission_denied(smbd: SmbServer, tmp_path: Path) -> None:
    artifact = tmp_path / "x.csv"
    artifact.write_text("a\n1\n")
    with pytest.raises(ConnectorError) as no_write:
        _connector(smbd).write({"folder": "readonly"}, "x.csv", "csv", artifact)
    assert no_write.value.diagnosis == "permission"
    with pytest.raises(ConnectorError) as read_only_share:
        _connector(smbd, share="archive").write({}, "x.csv", "csv", artifact)
    assert read_only_share.value.diagnosis == "permission"


def test_closing_a_read_ends_it(smbd: SmbServer) -> None:
    big = smbd.files / "exports" / "big.csv"
    with big.open("wb") as fh:
        fh.write(b"t,v\n")
        fh.truncate(32 << 20)
    stream = _connector(smbd).read({"path": "exports/big.csv"})
    assert next(stream.chunks).startswith(b"t,v\n")
    stream.close()
    assert list(stream.chunks) == []
    big.unlink()
