"""The Python client against the real app (in-process WSGI transport) and a real worker."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from sealforge_client import Client, SealforgeError
from sealforge_client.cli import main, run

from tests.conftest import mock_schema


@pytest.fixture
def sdk(app: Flask, keys: dict[str, str]) -> Client:
    return Client("http://sealforge.test", api_key=keys["generate"], transport=httpx.WSGITransport(app=app))


def test_job_round_trip(sdk: Client, start_worker: Any, tmp_path: Path) -> None:
    start_worker()
    assert sdk.whoami()["scopes"] == ["generate"]
    job = sdk.submit("mock", {"schema": mock_schema(500), "format": "csv"}, seed=4)
    done = sdk.wait(job["id"], timeout=60)
    assert done["status"] == "succeeded" and done["rows"] == 500
    statuses = [e["data"]["status"] for e in sdk.events(job["id"]) if e["event"] == "status"]
    assert statuses[-1] == "succeeded"
    (artifact,) = sdk.artifacts(job["id"])
    path = sdk.download(artifact["id"], tmp_path)
    assert path.name == "readings.csv" and path.stat().st_size == artifact["size"]
    frame = sdk.read_table(artifact["id"])
    assert list(frame.columns) == ["id", "flow", "site"] and len(frame) == 500
    assert [j["id"] for j in sdk.jobs(kind="mock")] == [job["id"]]


def test_upload_and_preview(sdk: Client, tmp_path: Path) -> None:
    source = tmp_path / "readings.csv"
    source.write_text("a,b\n1,2\n3,4\n")
    dataset = sdk.upload(source)
    assert dataset["rows"] == 2 and dataset["name"] == "readings.csv"
    assert [d["id"] for d in sdk.datasets()] == [dataset["id"]]
    rows = sdk.preview(mock_schema(10), rows=3)
    assert len(rows["readings"]) == 3


def test_errors_carry_the_envelope(sdk: Client) -> None:
    with pytest.raises(SealforgeError) as caught:
        sdk.submit("mock", {"schema": {"tables": []}})
    assert caught.value.status == 400 and caught.value.code == "VALIDATION_FAILED"
    assert caught.value.details[0]["field"].startswith("params.schema")
    with pytest.raises(SealforgeError) as missing:
        sdk.job("job_00000000000000000000000000")
    assert missing.value.code == "NOT_FOUND" and missing.value.correlation_id


def test_cli_commands(sdk: Client, capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(
        command="submit", kind="mock", params=json.dumps({"schema": mock_schema(5)}), seed=1, input=[], wait=False
    )
    job = run(args, sdk)
    assert job["status"] == "queued"
    assert run(argparse.Namespace(command="cancel", job_id=job["id"]), sdk)["status"] == "canceled"


def test_cli_bad_usage(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEALFORGE_API_KEY", raising=False)
    assert main(["whoami"]) == 2
    assert "API key" in capsys.readouterr().err
    assert main(["--url", "http://127.0.0.1:9", "--api-key", "sl_live_x", "whoami"]) == 1
    assert "cannot reach" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["--api-key", "k", "frobnicate"])
    assert usage.value.code == 2
    assert main(["--url", "http://127.0.0.1:9", "--api-key", "k", "submit", "mock", "--params", "[1]"]) == 2
