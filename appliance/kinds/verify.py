"""The `verify` kind: check a stored artifact, or a whole job's evidence.

With ``artifact_id`` it re-hashes the blob and compares it with the recorded BLAKE3, proving the
store still holds exactly what was sealed. With ``job_id`` it runs the offline verifier's checks
on that job's evidence bundle (signature, statement, every artifact's digest, inclusion in the
seal log, checkpoint signature, and consistency since the job was sealed). Either way the report
is itself an artifact, so the check is sealed like any other result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import marshmallow as ma

from appliance.errors import AppError
from appliance.evidence.selfcheck import check_job
from appliance.kinds.base import Estimate, JobContext, JobFailed, Kind
from appliance.store.blobs import BlobStore
from appliance.store.open import open_db

REPORT_NAME = "verify-report.json"


class VerifyParams(ma.Schema):
    artifact_id = ma.fields.String(validate=ma.validate.Regexp(r"^art_[0-9A-Z]{26}$"))
    job_id = ma.fields.String(validate=ma.validate.Regexp(r"^job_[0-9A-Z]{26}$"))

    @ma.validates_schema
    def exactly_one(self, data: dict[str, Any], **_kwargs: Any) -> None:
        given = [name for name in ("artifact_id", "job_id") if name in data]
        if len(given) == 1:
            return
        message = (
            "give either artifact_id or job_id, not both"
            if given
            else "give one of artifact_id (check an artifact) or job_id (check a job's evidence)"
        )
        raise ma.ValidationError({"artifact_id": [message], "job_id": [message]})


def _write_report(ctx: JobContext, report: dict[str, Any]) -> None:
    out = ctx.work_dir / REPORT_NAME
    out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    ctx.add_artifact(out, REPORT_NAME, "application/json")


def _verify_artifact(ctx: JobContext) -> None:
    artifact = ctx.artifact(ctx.params["artifact_id"])
    ctx.progress(0.1, message=f"re-hashing {artifact['name']} ({artifact['size']} bytes)")
    store = BlobStore(ctx.state_dir)
    actual = store.rehash(artifact["blake3"]) if store.exists(artifact["blake3"]) else None
    ctx.check_cancel()
    report = {
        "artifact_id": artifact["id"],
        "name": artifact["name"],
        "expected_blake3": artifact["blake3"],
        "actual_blake3": actual,
        "size": artifact["size"],
        "ok": actual == artifact["blake3"],
        "detail": "match"
        if actual == artifact["blake3"]
        else ("blob missing" if actual is None else "content changed"),
    }
    _write_report(ctx, report)
    ctx.set_result({"ok": report["ok"], "detail": report["detail"]})
    ctx.progress(1.0, message=report["detail"])


def _verify_job(ctx: JobContext) -> None:
    job_id = ctx.params["job_id"]
    ctx.progress(0.1, message=f"verifying the evidence of {job_id}")
    scratch = Path(ctx.work_dir) / "evidence-check"
    scratch.mkdir()
    try:
        report = check_job(open_db(ctx.state_dir), ctx.state_dir, ctx.tenant_id, job_id, scratch)
    except AppError as exc:
        raise JobFailed(exc.code, exc.message) from exc
    ctx.check_cancel()
    _write_report(ctx, report)
    ctx.set_result({"ok": report["ok"], "checks": {c["name"]: c["status"] for c in report["checks"]}})
    ctx.progress(1.0, message=report["summary"])


def run(ctx: JobContext) -> None:
    if ctx.params.get("job_id"):
        _verify_job(ctx)
    else:
        _verify_artifact(ctx)


KIND = Kind(
    name="verify",
    queue="default",
    summary="Re-hash an artifact, or check a job's evidence bundle like the offline verifier.",
    params_schema=VerifyParams,
    estimate=lambda _params: Estimate(rows=0, seconds=1.0),
    run=run,
)
