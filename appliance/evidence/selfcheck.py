"""The appliance checking its own evidence, with the auditor's verifier, for the `verify` kind.

Why reuse the offline verifier: a check that passes here and fails on the auditor's laptop (or the
reverse) would be worse than none, so the job's bundle is written to a file and handed to
:func:`sealforge_verify.verify_bundle`, exactly as ``sealforge-verify`` would see it. The trust is
every key this appliance has signed with; the artifacts are the blob store's copies (linked into
a folder by subject name, never copied); and consistency is checked from the checkpoint published
when the job was sealed to the latest one, so a log rewritten since then is caught too.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from sealforge_verify import canonical_json, verify_bundle
from sealforge_verify.statement import check_subject_name

from appliance.evidence import keys
from appliance.evidence.bundle import assemble
from appliance.evidence.operations import require_sealed_job
from appliance.evidence.statement import CONTRACT_SUBJECT
from appliance.store import jobs as jobs_store
from appliance.store import seals as seals_store
from appliance.store.blobs import BlobStore


def _link_artifacts(conn: sqlite3.Connection, state_dir: Path, job: dict[str, Any], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = jobs_store.artifacts_of_job(conn, job["id"])
    if not rows:
        (folder / CONTRACT_SUBJECT).write_bytes(canonical_json(json.loads(job["contract"])))
        return
    store = BlobStore(state_dir)
    for row in rows:
        if check_subject_name(row["name"]) is not None:
            continue
        blob = store.path(row["blake3"])
        if blob.is_file():
            target = folder / row["name"]
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(blob, target)


def check_job(conn: sqlite3.Connection, state_dir: Path, tenant_id: str, job_id: str, work_dir: Path) -> dict[str, Any]:
    """Verify ``job_id``'s evidence; returns the report dict (``ok`` is false if any check failed
    or any artifact could not be checked). Raises ``AppError`` if the job has no evidence."""
    job, seal = require_sealed_job(conn, tenant_id, job_id)
    sealed_size = int(seal["leaf_index"]) + 1
    bundle = assemble(conn, state_dir, job, seal, prev_size=sealed_size)
    bundle_path = work_dir / "evidence.tar"
    bundle.write(bundle_path)
    artifacts_dir = work_dir / "artifacts"
    _link_artifacts(conn, state_dir, job, artifacts_dir)
    then = seals_store.checkpoint_at(conn, sealed_size)
    trusted = keys.trusted_verifiers(conn)
    report = verify_bundle(
        bundle_path,
        trusted,
        artifacts_dir=artifacts_dir,
        prev_checkpoint=then["note"].encode("utf-8") if then else None,
        label=bundle.filename,
    )
    out = report.to_dict()
    out["ok"] = report.ok and not report.skipped
    out.update(
        job_id=job_id,
        seal_id=seal["id"],
        tree_size=bundle.tree_size,
        sealed_at_size=sealed_size,
        trusted_keys=[k.ref for k in trusted],
    )
    return out
