"""The `verify` kind: re-hash a stored artifact and compare it with its recorded BLAKE3.

It proves the blob store still holds exactly what was sealed. The report is itself an artifact,
so the check is sealed like any other result.
"""

from __future__ import annotations

import json

import marshmallow as ma

from appliance.kinds.base import Estimate, JobContext, Kind
from appliance.store.blobs import BlobStore


class VerifyParams(ma.Schema):
    artifact_id = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^art_[0-9A-Z]{26}$"))


def run(ctx: JobContext) -> None:
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
    out = ctx.work_dir / "verify-report.json"
    out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    ctx.add_artifact(out, "verify-report.json", "application/json")
    ctx.set_result({"ok": report["ok"], "detail": report["detail"]})
    ctx.progress(1.0, message=report["detail"])


KIND = Kind(
    name="verify",
    queue="default",
    summary="Re-hash an artifact and compare it with its recorded BLAKE3.",
    params_schema=VerifyParams,
    estimate=lambda _params: Estimate(rows=0, seconds=1.0),
    run=run,
)
