"""A job's evidence bundle: the sealed envelope, its inclusion proof against the latest signed
checkpoint, the key id, optionally a consistency proof and the artifacts themselves.

Why the latest checkpoint: it proves the seal is in the log as it stands now, so an auditor who
kept any older checkpoint can ask for (or get, with ``prev_size``) a consistency proof to it. The
member names and byte formats are the verifier's own (:mod:`sealforge_verify.bundle`); artifacts
are referenced by their blob paths and only read while the tar is streamed or written.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealforge_verify import canonical_json, write_members
from sealforge_verify.bundle import ARTIFACT_PREFIX, CHECKPOINT, CONSISTENCY, ENVELOPE, INCLUSION, KEY_ID

from appliance import errors
from appliance.errors import AppError
from appliance.evidence import seal_log, witnessing
from appliance.evidence.statement import CONTRACT_SUBJECT
from appliance.evidence.tarstream import Source, TarStream
from appliance.store import jobs as jobs_store
from appliance.store.blobs import BlobStore


@dataclass(frozen=True)
class Bundle:
    """The members of one bundle, ready to stream (API) or write to a file (verify kind)."""

    job_id: str
    seal_id: str
    tree_size: int
    members: dict[str, Source]

    @property
    def filename(self) -> str:
        return f"{self.job_id}.tar"

    def stream(self) -> TarStream:
        return TarStream(self.members)

    def write(self, path: Path) -> None:
        write_members(path, {k: v if isinstance(v, bytes) else os.fspath(v) for k, v in self.members.items()})


def _artifact_members(conn: sqlite3.Connection, state_dir: Path, job: dict[str, Any]) -> dict[str, Source]:
    rows = jobs_store.artifacts_of_job(conn, job["id"])
    if not rows:
        return {ARTIFACT_PREFIX + CONTRACT_SUBJECT: canonical_json(json.loads(job["contract"]))}
    store = BlobStore(state_dir)
    out: dict[str, Source] = {}
    for row in rows:
        path = store.path(row["blake3"])
        if not path.is_file():
            raise AppError(
                errors.UNAVAILABLE,
                f"artifact {row['id']} ({row['name']}) is missing from the blob store",
                hint="Download the bundle without include_artifacts, and tell your administrator.",
            )
        out[ARTIFACT_PREFIX + row["name"]] = path
    return out


def assemble(
    conn: sqlite3.Connection,
    state_dir: Path,
    job: dict[str, Any],
    seal: dict[str, Any],
    *,
    include_artifacts: bool = False,
    prev_size: int | None = None,
    witnessed: bool = False,
) -> Bundle:
    """Build the bundle of ``seal`` (the seal row of ``job``) against the latest checkpoint, or with
    ``witnessed`` the newest one that witnesses cosigned."""
    if witnessed:
        checkpoint = witnessing.witnessed_checkpoint(conn, int(seal["leaf_index"]))
    else:
        checkpoint = seal_log.require_checkpoint(conn)
    size = int(checkpoint["tree_size"])
    if prev_size is not None and not 1 <= prev_size <= size:
        raise errors.validation("prev_size", f"must be between 1 and the log's size, {size}")
    built = seal_log.tree(conn, size)
    members: dict[str, Source] = {
        ENVELOPE: bytes(seal["envelope"]),
        INCLUSION: seal_log.inclusion(built, int(seal["leaf_index"]), size).to_json_bytes(),
        CHECKPOINT: witnessing.cosigned_note(conn, checkpoint).encode("utf-8"),
        KEY_ID: seal["signing_key_id"].encode("utf-8") + b"\n",
    }
    if prev_size is not None:
        members[CONSISTENCY] = seal_log.consistency(built, prev_size, size).to_json_bytes()
    if include_artifacts:
        members.update(_artifact_members(conn, state_dir, job))
    return Bundle(job["id"], seal["id"], size, members)
