"""/v1/connectors with an HTTP server on loopback: a CSV export downloaded into a dataset, and
the bad inputs of an HTTP connector."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth
from tests.connector_servers import http_server


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with http_server(tmp_path_factory.mktemp("www")) as url:
        yield url


def test_download_into_a_dataset(
    client: FlaskClient,
    keys: dict[str, str],
    web: str,
    inline_jobs: InlineJobs,
) -> None:
    gen = auth(keys["generate"])
    made = client.post(
        "/v1/connectors",
        json={
            "name": "logger",
            "type": "http",
            "settings": {"base_url": web},
            "credentials": {"username": "logger", "password": "logger-pw"},
        },
        headers=auth(keys["admin"]),
    )
    assert made.status_code == 201 and b"logger-pw" not in made.data
    con = made.get_json()["id"]
    assert client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()["ok"]
    job = inline_jobs.finish(
        client,
        gen,
        client.post(f"/v1/connectors/{con}/import", json={"source": {"path": "exports.csv"}}, headers=gen).get_json()[
            "id"
        ],
    )
    assert job["result"]["rows"] == 1000
    failed = inline_jobs.finish(
        client,
        gen,
        client.post(f"/v1/connectors/{con}/import", json={"source": {"path": "missing.csv"}}, headers=gen).get_json()[
            "id"
        ],
        expect="failed",
    )
    assert failed["error"]["message"].startswith("not_found")


@pytest.mark.parametrize(
    ("settings", "code"),
    [
        ({"base_url": "http://8.8.8.8/"}, "CONNECTOR_TARGET_NOT_ALLOWED"),
        ({}, "VALIDATION_FAILED"),
        ({"base_url": "http://127.0.0.1/", "verify_tls": "maybe"}, "VALIDATION_FAILED"),
    ],
)
def test_bad_settings(client: FlaskClient, keys: dict[str, str], settings: dict[str, str], code: str) -> None:
    answer = client.post(
        "/v1/connectors", json={"name": "x", "type": "http", "settings": settings}, headers=auth(keys["admin"])
    )
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == code
