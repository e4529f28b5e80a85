"""Evidence operations for the job runner, the API, the CLI and the verify kind.

The runner calls :func:`seal_job` inside its success transaction, so a succeeded job always has
its seal (or the job did not succeed). Everything else here reads: seals by tenant, the latest
checkpoint, consistency proofs (log-wide: they reveal only hashes), and bundles.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from sealforge_verify import b64encode, log_leaf_hash, seal_statement

from appliance import errors
from appliance.clock import now_iso
from appliance.errors import AppError
from appliance.evidence import keys, seal_log, witnessing
from appliance.evidence.bundle import Bundle, assemble
from appliance.evidence.statement import job_statement
from appliance.ids import new_id
from appliance.store import jobs as jobs_store
from appliance.store import seals as seals_store
from appliance.store.pages import page


def keys_dir(state_dir: Path) -> Path:
    return state_dir / "keys"


def seal_job(
    conn: sqlite3.Connection, state_dir: Path, job: dict[str, Any], artifacts: list[dict[str, Any]]
) -> dict[str, Any]:
    """Sign the job's Statement, append it to the seal log, publish a checkpoint; returns the seal row.

    Must run inside the caller's write transaction (the runner's success transaction): the append
    reads and moves the log head under the write lock, which is what serialises sealing.
    """
    if not conn.in_transaction:
        raise RuntimeError("seal_job needs the caller's write transaction")
    key_row, signer = keys.active_signer(conn, keys_dir(state_dir))
    head = seal_log.ensure_head(conn)
    sealed_at = now_iso()
    envelope = seal_statement(job_statement(job, artifacts, sealed_at, head["origin"]), signer)
    leaf = log_leaf_hash(envelope, seal_log.hasher_of(head))
    appended = seal_log.append(conn, leaf, signer)
    row = {
        "id": new_id("seal"),
        "tenant_id": job["tenant_id"],
        "job_id": job["id"],
        "leaf_index": appended.leaf_index,
        "leaf_hash": leaf,
        "envelope": envelope,
        "signing_key_id": key_row["key_id"],
        "created_at": sealed_at,
    }
    seals_store.insert_seal(conn, row)
    return row


def seal_view(row: dict[str, Any], with_envelope: bool = False) -> dict[str, Any]:
    """A seal as the API shows it. ``contract_hash`` is the sealed job's (the store reads it beside
    the seal): the published API names it on every seal, beside ``created_at``, the sealing time."""
    view = {
        "id": row["id"],
        "job_id": row["job_id"],
        "contract_hash": row.get("contract_hash"),
        "leaf_index": row["leaf_index"],
        "leaf_hash": bytes(row["leaf_hash"]).hex(),
        "signing_key_id": row["signing_key_id"],
        "created_at": row["created_at"],
        "_links": {
            "self": f"/v1/seals/{row['id']}",
            "job": f"/v1/jobs/{row['job_id']}",
            "evidence": f"/v1/evidence/{row['job_id']}",
        },
    }
    if with_envelope:
        view["envelope"] = json.loads(bytes(row["envelope"]))
    return view


def list_seals(
    conn: sqlite3.Connection, tenant_id: str, job_id: str | None, limit: int, after: str | None
) -> dict[str, Any]:
    where = {"tenant_id": tenant_id, "job_id": job_id}
    columns = seals_store.SEAL_LIST_COLUMNS
    return page(conn, "seals", where, limit=limit, after=after, columns=columns).listing(seal_view)


def get_seal(conn: sqlite3.Connection, tenant_id: str, seal_id: str) -> dict[str, Any]:
    row = seals_store.get_seal(conn, seal_id, tenant_id)
    if row is None:
        raise errors.not_found("seal", seal_id)
    return seal_view(row, with_envelope=True)


def checkpoint_view(conn: sqlite3.Connection) -> dict[str, Any]:
    """The latest signed checkpoint; ``note`` is the exact text to keep for ``--prev-checkpoint``,
    with the cosignatures witnesses sent back as extra signature lines."""
    row = seal_log.require_checkpoint(conn)
    head = seals_store.log_head(conn)
    assert head is not None
    return {
        "origin": head["origin"],
        "tree_hash": head["tree_hash"],
        "tree_size": row["tree_size"],
        "root": b64encode(bytes(row["root"])),
        "note": witnessing.cosigned_note(conn, row),
        "signing_key_id": row["signing_key_id"],
        "created_at": row["created_at"],
    }


def consistency_proof(conn: sqlite3.Connection, from_size: int, to_size: int | None) -> dict[str, Any]:
    """Proof that the log at ``from_size`` is a prefix of the log at ``to_size`` (default: now)."""
    size = int(seal_log.require_checkpoint(conn)["tree_size"])
    to = size if to_size is None else to_size
    if from_size < 1:
        raise errors.validation("from", "must be at least 1: a proof from the empty log proves nothing")
    if to > size:
        raise errors.validation("to", f"the log has only {size} leaves")
    if from_size > to:
        raise errors.validation("from", f"must not be larger than to ({to})")
    return seal_log.consistency(seal_log.tree(conn, to), from_size, to).to_dict()


def require_sealed_job(conn: sqlite3.Connection, tenant_id: str, job_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The job and its seal; unknown (or another tenant's) → 404, not succeeded → 409."""
    job = jobs_store.get_job(conn, job_id, tenant_id)
    if job is None:
        raise errors.not_found("job", job_id)
    if job["status"] != "succeeded":
        raise AppError(
            errors.CONFLICT,
            f"job {job_id} is {job['status']}: only a succeeded job has evidence",
            hint="Wait for the job to succeed (GET /v1/jobs/{id}); failed and canceled jobs are not sealed.",
        )
    seal = seals_store.seal_of_job(conn, job_id, tenant_id)
    if seal is None:
        raise AppError(
            errors.NOT_FOUND,
            f"job {job_id} has no seal",
            hint="It succeeded before this appliance sealed results; rerun it to get a sealed result.",
        )
    return job, seal


def evidence_bundle(
    conn: sqlite3.Connection,
    state_dir: Path,
    tenant_id: str,
    job_id: str,
    *,
    include_artifacts: bool = False,
    prev_size: int | None = None,
    witnessed: bool = False,
) -> Bundle:
    job, seal = require_sealed_job(conn, tenant_id, job_id)
    return assemble(
        conn, state_dir, job, seal, include_artifacts=include_artifacts, prev_size=prev_size, witnessed=witnessed
    )


def job_evidence(conn: sqlite3.Connection, tenant_id: str, job_id: str) -> dict[str, Any]:
    """What a bundle of the job would prove, for a person to read (the web UI's seal page): the seal
    with its signed envelope, its inclusion proof against the latest checkpoint, and that checkpoint."""
    job, seal = require_sealed_job(conn, tenant_id, job_id)
    checkpoint = checkpoint_view(conn)
    size = int(checkpoint["tree_size"])
    proof = seal_log.inclusion(seal_log.tree(conn, size), int(seal["leaf_index"]), size)
    view = seal_view({**seal, "contract_hash": job["contract_hash"]}, with_envelope=True)
    return {"seal": view, "inclusion": proof.to_dict(), "checkpoint": checkpoint}
