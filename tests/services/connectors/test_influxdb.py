"""The InfluxDB 1.x connector against Debian's influxd on loopback, authentication on: test,
browse, reads of a measurement over a time range and of a query, writes of an artifact as
points, and the diagnosis of a wrong password, nothing listening, a database the account may not
read, a write it may not make, a query that would change data, and a read closed early."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from appliance.services.connectors import environment
from appliance.services.connectors.base import ConnectorError
from appliance.services.connectors.influxdb import InfluxConnector
from tests.connector_servers import _free_port
from tests.remote_servers import T0, InfluxServer

pytestmark = pytest.mark.xdist_group("influxdb")


def _connector(server: InfluxServer, user: str = "engineer", password: str | None = None, **over: Any) -> Any:
    settings = {"url": server.url, "database": "plant", **over}
    env = environment({"webhooks": {}, "connectors": {"timeout_s": 5}})
    return InfluxConnector(settings, {"username": user, "password": password or f"{user}-pw"}, env)


def test_test_browse_read(influx: InfluxServer) -> None:
    con = _connector(influx)
    info = con.test()
    assert info["measurements"] >= 1 and info["server_version"].startswith("1.")
    assert [e.name for e in con.browse("", None, 50).entries] == ["plant"]  # only what the account may use
    assert "plant/flow" in [e.path for e in con.browse("plant", None, 50).entries]
    keys = con.browse("plant/flow", None, 50).entries
    assert [(e.name, e.kind) for e in keys] == [("line", "tag"), ("ok", "field"), ("value", "field")]
    lines = b"".join(con.read({"measurement": "flow"}).chunks).decode().splitlines()
    assert lines[0] == "measurement,time,line,ok,value" and len(lines) == 3001
    assert lines[2] == "flow,2023-11-14T22:13:21Z,L1,true,0.5"
    start = datetime.datetime.fromtimestamp(T0 / 10**9 + 100, datetime.UTC)
    end = start + datetime.timedelta(seconds=10)
    window = b"".join(con.read({"measurement": "flow", "start": start, "end": end}).chunks).decode().splitlines()
    assert len(window) == 11
    grouped = con.read({"query": "SELECT mean(value) FROM flow GROUP BY line"})
    assert b"".join(grouped.chunks).decode().splitlines() == [
        "measurement,time,mean,line",
        "flow,1970-01-01T00:00:00Z,749.5,L0",
        "flow,1970-01-01T00:00:00Z,750,L1",
    ]


def test_write_points_and_read_back(influx: InfluxServer, tmp_path: Path) -> None:
    con = _connector(influx)
    artifact = tmp_path / "synthetic.csv"
    artifact.write_text(
        "time,line,value,count,ok\n"
        + "".join(
            f"2024-01-01T00:00:{i:02d}Z,S{i % 2},{i * 1.5},{i},{'true' if i % 2 else 'false'}\n" for i in range(30)
        )
    )
    done = con.write({"measurement": "synthetic", "tags": ["line"]}, "synthetic.csv", "csv", artifact)
    assert done["points"] == 30
    back = b"".join(con.read({"measurement": "synthetic"}).chunks).decode().splitlines()
    assert back[0] == "measurement,time,count,line,ok,value" and len(back) == 31
    assert back[2] == "synthetic,2024-01-01T00:00:01Z,1,S1,true,1.5"
    with pytest.raises(ConnectorError) as no_time:
        con.write({"measurement": "x", "time_column": "when"}, "synthetic.csv", "csv", artifact)
    assert no_time.value.diagnosis == "invalid"


def test_wrong_credentials_unreachable_outside(influx: InfluxServer) -> None:
    with pytest.raises(ConnectorError) as failed:
        _connector(influx, password="not-the-password").test()
    assert failed.value.diagnosis == "auth" and "not-the-password" not in failed.value.message
    with pytest.raises(ConnectorError) as refused:
        _connector(influx, url=f"http://127.0.0.1:{_free_port()}").test()
    assert refused.value.diagnosis == "refused"
    with pytest.raises(ConnectorError) as outside:
        _connector(influx, url="http://8.8.8.8:8086").test()
    assert outside.value.diagnosis == "not_allowed"


def test_permission_denied_and_read_only_queries(influx: InfluxServer, tmp_path: Path) -> None:
    viewer = _connector(influx, user="viewer")
    assert viewer.test()["measurements"] >= 1
    artifact = tmp_path / "x.csv"
    artifact.write_text("time,value\n2024-01-01T00:00:00Z,1\n")
    with pytest.raises(ConnectorError) as no_write:
        viewer.write({"measurement": "flow"}, "x.csv", "csv", artifact)
    assert no_write.value.diagnosis == "permission"
    with pytest.raises(ConnectorError) as no_read:
        _connector(influx, user="viewer", database="secret").test()
    assert no_read.value.diagnosis == "permission"
    with pytest.raises(ConnectorError) as drop:
        admin = _connector(influx, user=influx.admin[0], password=influx.admin[1])
        admin.read({"query": "DROP MEASUREMENT flow"})  # influxd itself runs a DROP sent on a GET
    assert drop.value.diagnosis == "invalid", drop.value.message
    for sneaky in ("SELECT * INTO copy FROM flow", "SELECT * FROM flow; DROP MEASUREMENT flow"):
        with pytest.raises(ConnectorError) as refused:
            admin.read({"query": sneaky})
        assert refused.value.diagnosis == "invalid"
    assert "plant/flow" in [e.path for e in _connector(influx).browse("plant", None, 50).entries]


def test_closing_a_read_ends_it(influx: InfluxServer) -> None:
    stream = _connector(influx).read({"query": "SELECT * FROM flow"})
    chunks = stream.chunks
    stream.close()
    assert list(chunks) == []
