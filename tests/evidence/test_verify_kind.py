"""The `verify` kind's params (exactly one of artifact_id and job_id) and its job_id path run
in-process; the worker test covers it end to end."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from appliance.jobs.runner import RunContext
from appliance.kinds import verify
from appliance.kinds.base import JobFailed
from tests.conftest import auth


@pytest.mark.parametrize(
    "params,fields",
    [
        ({}, {"params.artifact_id", "params.job_id"}),
        (
            {"artifact_id": "art_00000000000000000000000000", "job_id": "job_00000000000000000000000000"},
            {"params.artifact_id", "params.job_id"},
        ),
        ({"job_id": "nope"}, {"params.job_id"}),
        ({"job_id": "art_00000000000000000000000000"}, {"params.job_id"}),
    ],
)
def test_verify_params_need_exactly_one_target(
    client: FlaskClient, keys: dict[str, str], params: dict[str, Any], fields: set[str]
) -> None:
    response = client.post("/v1/jobs", json={"kind": "verify", "params": params}, headers=auth(keys["generate"]))
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert fields <= {d["field"] for d in error["details"]}


def _context(state_dir: Path, tenant_id: str, job_id: str, tmp_path: Path) -> RunContext:
    job = {"id": "job_01J00000000000000000000000", "tenant_id": tenant_id, "kind": "verify"}
    work = tmp_path / "work"
    work.mkdir()
    contract = {"params": {"job_id": job_id}, "seed": 0}
    ctx = RunContext(state_dir, job, contract, [], work, threading.Event())
    ctx.progress = lambda *a, **k: None  # type: ignore[method-assign]
    return ctx


def test_verify_kind_reports_every_check(
    db: Any, state_dir: Path, tenant: dict[str, Any], make_sealed_job: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    target = make_sealed_job({"rows.csv": b"a,b\n1,2\n", "more/x.txt": b"x"})
    make_sealed_job()
    ctx = _context(state_dir, tenant["id"], target["id"], tmp_path)
    verify.run(ctx)
    assert ctx.result["ok"] is True
    assert ctx.result["checks"] == {
        "bundle_format": "pass",
        "trusted_key": "pass",
        "dsse_signature": "pass",
        "statement_shape": "pass",
        "artifact_digest:more/x.txt": "pass",
        "artifact_digest:rows.csv": "pass",
        "inclusion_proof": "pass",
        "checkpoint_signature": "pass",
        "consistency": "pass",
    }
    [(path, name, media_type)] = ctx.artifacts
    report = json.loads(path.read_text())
    assert name == "verify-report.json" and media_type == "application/json"
    assert report["job_id"] == target["id"] and report["sealed_at_size"] == 1 and report["tree_size"] == 2


def test_verify_kind_with_a_missing_blob_is_not_ok(
    state_dir: Path, tenant: dict[str, Any], make_sealed_job: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    target = make_sealed_job({"rows.csv": b"only copy"})
    for blob in (state_dir / "blobs").rglob("*"):
        if blob.is_file():
            blob.unlink()
    ctx = _context(state_dir, tenant["id"], target["id"], tmp_path)
    verify.run(ctx)
    assert ctx.result["ok"] is False and ctx.result["checks"]["artifact_digest:rows.csv"] == "skip"


@pytest.mark.parametrize("status,code", [("running", "CONFLICT"), ("absent", "NOT_FOUND")])
def test_verify_kind_fails_cleanly_without_evidence(
    state_dir: Path,
    tenant: dict[str, Any],
    make_sealed_job: Callable[..., dict[str, Any]],
    tmp_path: Path,
    status: str,
    code: str,
) -> None:
    job_id = make_sealed_job(status=status)["id"] if status != "absent" else "job_00000000000000000000000000"
    with pytest.raises(JobFailed) as failed:
        verify.run(_context(state_dir, tenant["id"], job_id, tmp_path))
    assert failed.value.code == code
