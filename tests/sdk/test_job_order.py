"""Both Python clients and `sealforge-client jobs list` list jobs newest first, or oldest first
with ``order="asc"`` / ``--order asc``; a bad order or limit is refused clearly. (Paging across
pages in each order is tested on the route: tests/jobs/test_list_order.py.)"""

from __future__ import annotations

import json

import httpx
import pytest
from flask import Flask
from radmah_sdk.client import Jobs
from sealforge_client import Client, SealforgeError
from sealforge_client.cli import _parser, main, run

from tests.conftest import mock_schema


@pytest.fixture
def sdk(app: Flask, keys: dict[str, str]) -> Client:
    return Client("http://sealforge.test", api_key=keys["generate"], transport=httpx.WSGITransport(app=app))


@pytest.fixture
def ids(sdk: Client) -> list[str]:
    return [sdk.submit("mock", {"schema": mock_schema(5)})["id"] for _ in range(5)]


def test_native_client_lists_both_ways(sdk: Client, ids: list[str]) -> None:
    assert [j["id"] for j in sdk.jobs()] == ids[::-1]
    assert [j["id"] for j in sdk.jobs(order="asc")] == ids
    assert [j["id"] for j in sdk.jobs(limit=3)] == ids[:1:-1]
    assert [j["id"] for j in sdk.jobs(limit=3, order="asc")] == ids[:3]
    with pytest.raises(SealforgeError) as bad:
        list(sdk.jobs(order="sideways"))
    assert bad.value.status == 400 and bad.value.code == "VALIDATION_FAILED"
    assert bad.value.details[0]["field"] == "order"


def test_radmah_jobs_list_is_most_recent_first(sdk: Client, ids: list[str]) -> None:
    jobs = Jobs(sdk)
    assert [j.id for j in jobs.list(limit=2)] == ids[:2:-1]
    assert [j.id for j in jobs.list(limit=2, order="asc")] == ids[:2]
    assert [j.id for j in jobs.iter()] == ids[::-1]
    assert [j.id for j in jobs.iter(order="asc")] == ids


def test_cli_jobs_list_order_and_bad_input(
    sdk: Client, ids: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    def listed(*argv: str) -> list[str]:
        return [j["id"] for j in run(_parser().parse_args(["jobs", "list", *argv]), sdk)]

    assert listed() == ids[::-1]
    assert listed("--limit", "2") == ids[:2:-1]
    assert listed("--order", "asc", "--limit", "4") == ids[:4]
    for bad in (["--order", "sideways"], ["--limit", "0"], ["--limit", "-3"], ["--limit", "many"]):
        capsys.readouterr()
        with pytest.raises(SystemExit) as usage:
            main(["--api-key", "k", "jobs", "list", *bad])
        assert usage.value.code == 2, bad
        err = capsys.readouterr().err
        assert ("--order" in err or "--limit" in err) and "Traceback" not in err, err
    assert json.dumps(listed("--order", "desc")) == json.dumps(ids[::-1])
