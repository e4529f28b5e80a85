"""No answer carries a server path or a stack trace (issue #12, finding 14).

pyarrow names the blob it failed to open (`/…/var/blobs/bb/…`); that text used to reach the
client verbatim, both in a preview's 400 and in a failed job's `error`. The scrubbing happens
once in the error handler and once where the runner records a failure; tests/conftest.py checks
every error body of the whole suite on top of these targeted tests.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance.errors import CATALOGUE, AppError
from tests.conftest import auth

LEAKS = ("/tmp/", "/work/", "blobs/", "Traceback", 'File "')


def parquet_dataset(client: FlaskClient, key: str, state_dir: Path) -> tuple[dict[str, Any], Path]:
    sink = io.BytesIO()
    pq.write_table(pa.table({"flow": [1.0, 2.0, 3.0]}), sink)
    response = client.post("/v1/datasets", data=sink.getvalue(), content_type="application/octet-stream",
                           query_string={"name": "flows.parquet"}, headers=auth(key))
    assert response.status_code == 201, response.get_json()
    ds = response.get_json()
    return ds, state_dir / "blobs" / ds["blake3"][:2] / ds["blake3"][2:]


def assert_clean(text: str, state_dir: Path) -> None:
    for marker in (*LEAKS, str(state_dir)):
        assert marker not in text, f"{marker!r} leaked: {text}"


def test_preview_of_a_lost_blob_names_no_path(client: FlaskClient, keys: dict[str, str], state_dir: Path) -> None:
    ds, blob = parquet_dataset(client, keys["generate"], state_dir)
    blob.unlink()
    response = client.get(f"/v1/datasets/{ds['id']}/preview", headers=auth(keys["read"]))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "DATASET_INVALID"
    assert "not a valid PARQUET file" in error["message"] and "<path>" in error["message"]
    assert_clean(response.get_data(as_text=True), state_dir)


def test_failed_job_error_names_no_path(client: FlaskClient, keys: dict[str, str], state_dir: Path) -> None:
    from appliance.jobs.runner import execute

    ds, blob = parquet_dataset(client, keys["generate"], state_dir)
    submitted = client.post("/v1/jobs", json={"kind": "analyze", "inputs": [ds["id"]]}, headers=auth(keys["generate"]))
    assert submitted.status_code == 202, submitted.get_json()
    blob.unlink()
    execute(state_dir, submitted.get_json()["job_id"])  # what the worker's Huey task runs
    job = client.get(f"/v1/jobs/{submitted.get_json()['job_id']}", headers=auth(keys["read"])).get_json()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "DATASET_INVALID"
    assert "<path>" in job["error"]["message"]
    assert_clean(job["error"]["message"], state_dir)
    listed = client.get("/v1/jobs", headers=auth(keys["read"])).get_data(as_text=True)
    assert_clean(listed, state_dir)


def test_library_errors_wrapped_in_app_errors_are_scrubbed(app: Flask, state_dir: Path) -> None:
    """Whatever a view copies from an exception, the single error path removes paths and frames."""
    from appliance.api import envelope

    blob = state_dir / "blobs" / "bb" / "cdef"
    text = (f"cannot read {blob}: Traceback (most recent call last):\n  File \"/usr/lib/python3/x.py\", "
            "line 3, in read\nOSError: boom")
    with app.test_request_context("/v1/datasets"):
        body = envelope.render(AppError(CATALOGUE["DATASET_INVALID"], text)).get_json()["error"]
    assert body["message"] == "cannot read <path>"
    assert_clean(str(body), state_dir)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("open local file '/var/lib/sealforge/blobs/ab/cd'. Detail", "open local file '<path>'. Detail"),
        ("see GET /v1/jobs/kinds and /v1/jobs/{id}/events", "see GET /v1/jobs/kinds and /v1/jobs/{id}/events"),
        ("50.0/s (burst 100); application/json", "50.0/s (burst 100); application/json"),
        ("No such file: /srv/x y (file:///etc/passwd)", "No such file: <path> y (file:<path>)"),
        ('File "/a/b.py", line 4, in go: boom', "<path> boom"),
        ("Traceback (most recent call last):\n  File \"x\"", ""),
        ("GET /metrics and /docs/../etc/shadow", "GET /metrics and <path>"),
        ("outside the allowed networks (10.0.0.0/8, fc00::/7)", "outside the allowed networks (10.0.0.0/8, fc00::/7)"),
        ("plain text", "plain text"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    from appliance.scrub import scrub

    assert scrub(text) == expected


def test_catalogue_hints_survive_scrubbing() -> None:
    from appliance.scrub import scrub

    for spec in CATALOGUE.values():
        assert scrub(spec.hint) == spec.hint and scrub(spec.meaning) == spec.meaning, spec.code
