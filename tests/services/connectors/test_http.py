"""The HTTP connector against a real HTTP server on loopback (the standard library's, serving a
folder, with Basic auth on `private/`): test, browse, download, and each failure's diagnosis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from appliance.services.connectors import environment
from appliance.services.connectors.base import ConnectorError
from appliance.services.connectors.http import HttpConnector
from tests.connector_servers import _free_port, http_server


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with http_server(tmp_path_factory.mktemp("www")) as url:
        yield url


def _connector(base_url: str, **credentials: Any) -> HttpConnector:
    return HttpConnector(
        {"base_url": base_url}, credentials, environment({"webhooks": {}, "connectors": {"timeout_s": 3}})
    )


def test_download(web: str) -> None:
    con = _connector(web)
    assert con.test()["status"] == 200
    entry = con.browse("exports.csv", None, 10).entries[0]
    assert entry.name == "exports.csv" and entry.detail["format"] == "csv"
    stream = con.read({"path": "exports.csv"})
    body = b"".join(stream.chunks)
    assert stream.format == "csv" and len(body) == stream.size_hint == entry.size
    assert body.startswith(b"t,flow\n0,0.0\n")
    private = _connector(web, username="logger", password="logger-pw")
    assert b"".join(private.read({"path": "private/log.csv"}).chunks) == b"t,v\n1,2\n"


@pytest.mark.parametrize(
    ("path", "credentials", "diagnosis"),
    [
        ("private/log.csv", {}, "auth"),
        ("private/log.csv", {"username": "logger", "password": "wrong"}, "auth"),
        ("forbidden.csv", {}, "permission"),
        ("missing.csv", {}, "not_found"),
        ("moved.csv", {}, "invalid"),
        ("http://127.0.0.2:1/other.csv", {}, "not_allowed"),
    ],
)
def test_failures(web: str, path: str, credentials: dict[str, str], diagnosis: str) -> None:
    with pytest.raises(ConnectorError) as failed:
        _connector(web, **credentials).read({"path": path})
    assert failed.value.diagnosis == diagnosis
    assert "logger-pw" not in failed.value.message and "wrong" not in failed.value.message


def test_unreachable_and_outside() -> None:
    with pytest.raises(ConnectorError) as refused:
        _connector(f"http://127.0.0.1:{_free_port()}/").test()
    assert refused.value.diagnosis == "refused"
    with pytest.raises(ConnectorError) as outside:
        _connector("http://8.8.8.8/").test()
    assert outside.value.diagnosis == "not_allowed"
