"""Running one job inside a worker: claim it, run its kind, and finish it in one transaction.

Artifacts are written by the kind into a private work dir (held with an flock, so start-up
cleanup leaves a live job's files alone), copied into the blob store (pinned), and only then
recorded, together with the `succeeded` move, the credit charge and the job's seal, in a single
transaction: a crash at any point leaves either no artifacts or all of them (unreferenced bytes go
to the blob collector), and a succeeded job always has its seal. A heartbeat thread renews the
lease and notices cancel requests, so `check_cancel` costs nothing in a kind's hot loop.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sealforge_verify import sha256_file

from appliance import errors as app_errors
from appliance.clock import now_iso
from appliance.config import load_config
from appliance.evidence import seal_job
from appliance.ids import new_id
from appliance.jobs import lifecycle, webhook_events
from appliance.jobs.inputs import input_refs
from appliance.kinds import get_kind
from appliance.kinds.base import InputRef, JobCanceled, JobFailed
from appliance.scrub import scrub
from appliance.services import credits
from appliance.store import jobs as jobs_store
from appliance.store.blobs import BlobStore, StoredBlob, unpin
from appliance.store.db import transaction
from appliance.store.open import open_db
from appliance.store.owned import own_dir

log = logging.getLogger("sealforge.jobs")
PROGRESS_INTERVAL_S = 0.25


class _Heartbeat(threading.Thread):
    def __init__(self, state_dir: Path, job_id: str, worker: str, lease_s: float, canceled: threading.Event) -> None:
        super().__init__(name=f"lease-{job_id}", daemon=True)
        self.state_dir, self.job_id, self.worker, self.lease_s = state_dir, job_id, worker, lease_s
        self.canceled = canceled
        self.lost = threading.Event()
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = min(0.5, self.lease_s / 3)
        next_renew = 0.0
        conn = open_db(self.state_dir)
        while not self.stopped.wait(interval):
            now = time.time()
            try:
                if now >= next_renew:
                    with transaction(conn):
                        held, cancel = jobs_store.renew_lease(conn, self.job_id, self.worker, now + self.lease_s)
                    next_renew = now + self.lease_s / 3
                    if not held:
                        self.lost.set()
                        self.canceled.set()
                else:
                    cancel = jobs_store.cancel_requested(conn, self.job_id)
            except Exception:
                log.exception("heartbeat for %s failed", self.job_id)
                continue
            if cancel:
                self.canceled.set()


class RunContext:
    """What a kind sees of its job (see ``appliance.kinds.base.JobContext``)."""

    def __init__(
        self,
        state_dir: Path,
        job: dict[str, Any],
        contract: dict[str, Any],
        inputs: list[InputRef],
        work_dir: Path,
        canceled: threading.Event,
    ) -> None:
        self.state_dir = state_dir
        self.job_id: str = job["id"]
        self.tenant_id: str = job["tenant_id"]
        self.kind: str = job["kind"]
        self.params: dict[str, Any] = contract["params"]
        self.seed: int = int(contract["seed"])
        self.inputs = inputs
        self.work_dir = work_dir
        self.artifacts: list[tuple[Path, str, str]] = []
        self.hashed: dict[Path, tuple[str, str]] = {}  # (BLAKE3, SHA-256) a kind computed as it wrote
        self.result: dict[str, Any] = {}
        self.rows = 0
        self._canceled = canceled
        self._last_progress = 0.0
        self._pending: tuple[float, int, str] | None = None

    def check_cancel(self) -> None:
        if self._canceled.is_set():
            raise JobCanceled()

    def is_canceled(self) -> bool:
        return self._canceled.is_set()

    def progress(self, fraction: float, rows: int | None = None, message: str = "") -> None:
        self.check_cancel()
        if rows is not None:
            self.rows = rows
        self._pending = (max(0.0, min(1.0, fraction)), self.rows, message)
        if time.monotonic() - self._last_progress >= PROGRESS_INTERVAL_S or fraction >= 1.0:
            self.flush_progress()

    def flush_progress(self) -> None:
        if self._pending is None:
            return
        conn = open_db(self.state_dir)
        with transaction(conn):
            lifecycle.record_progress(conn, self.job_id, *self._pending)
        self._pending = None
        self._last_progress = time.monotonic()

    def add_artifact(self, path: Path, name: str, media_type: str, hashed: tuple[str, str] | None = None) -> None:
        if not path.is_file():
            raise JobFailed("ARTIFACT_MISSING", f"artifact {name!r} was not written")
        self.artifacts.append((path, name, media_type))
        if hashed is not None:
            self.hashed[path] = hashed

    def set_result(self, result: dict[str, Any]) -> None:
        self.result = result

    def artifact(self, artifact_id: str) -> dict[str, Any]:
        row = jobs_store.get_artifact(open_db(self.state_dir), artifact_id, self.tenant_id)
        if row is None:
            raise JobFailed("NOT_FOUND", f"artifact {artifact_id!r} was not found")
        return row


def _claim(state_dir: Path, job_id: str, worker: str, lease_s: float) -> dict[str, Any] | None:
    conn = open_db(state_dir)
    with transaction(conn):
        job = jobs_store.get_job(conn, job_id)
        if job is None or job["status"] != "queued":
            return None  # canceled while queued, or already handled
        return lifecycle.move(
            conn,
            job,
            "running",
            worker=worker,
            lease_expires=time.time() + lease_s,
            attempts=job["attempts"] + 1,
            started_at=now_iso(),
        )


def _succeed(state_dir: Path, job: dict[str, Any], ctx: RunContext, worker: str) -> None:
    """Artifacts are stored pinned; the pins go in the success transaction, else they are dropped."""
    conn = open_db(state_dir)
    store = BlobStore(state_dir)
    blobs: list[StoredBlob] = []
    committed = False
    try:
        # A file its kind hashed while writing it (an import) is linked in, not copied and hashed again.
        for path, _name, _media_type in ctx.artifacts:
            known = ctx.hashed.get(path)
            blobs.append(store.put_hashed(conn, path, known[0]) if known else store.put_file(conn, path))
        # SHA-256 for the seal's subjects, read here so the success transaction never hashes a file.
        sha256s = [ctx.hashed[p][1] if p in ctx.hashed else sha256_file(p) for p, _name, _media_type in ctx.artifacts]
        committed = _commit_success(conn, state_dir, job, ctx, worker, blobs, sha256s)
    finally:
        if not committed:
            store.drop(conn, blobs)


def _commit_success(
    conn: sqlite3.Connection,
    state_dir: Path,
    job: dict[str, Any],
    ctx: RunContext,
    worker: str,
    blobs: list[StoredBlob],
    sha256s: list[str],
) -> bool:
    with transaction(conn):
        current = jobs_store.get_job(conn, job["id"])
        if current is None or current["status"] != "running" or current["worker"] != worker:
            log.warning("job %s was reclaimed while finishing; its result is dropped", job["id"])
            return False
        artifacts = []
        for blob, sha256, (_path, name, media_type) in zip(blobs, sha256s, ctx.artifacts, strict=True):
            row = {"id": new_id("art"), "tenant_id": job["tenant_id"], "job_id": job["id"], "created_at": now_iso()}
            digests = {"blake3": blob.digest, "sha256": sha256}
            artifacts.append({**row, "name": name, "media_type": media_type, **digests, "size": blob.size})
            jobs_store.insert_artifact(conn, artifacts[-1])
        unpin(conn, blobs)
        kind = get_kind(job["kind"])
        cost = ctx.rows + (kind.estimate(ctx.params).extra_micro if kind else 0)
        credits.charge(conn, job["tenant_id"], job["id"], job["kind"], cost)
        succeeded = lifecycle.move(
            conn,
            current,
            "succeeded",
            progress=1.0,
            rows=ctx.rows,
            result=json.dumps(ctx.result, sort_keys=True),
            worker=None,
        )
        seal = seal_job(conn, state_dir, succeeded, artifacts)
        webhook_events.seal_appended(conn, succeeded, seal)
    return True


def _end(state_dir: Path, job_id: str, worker: str, to: str, code: str = "", message: str = "") -> None:
    conn = open_db(state_dir)
    with transaction(conn):
        current = jobs_store.get_job(conn, job_id)
        if current is None or current["status"] != "running" or current["worker"] != worker:
            return
        fields: dict[str, Any] = {"worker": None}
        message = scrub(message)  # library errors name files under the state dir; callers read this
        if code:
            fields.update(error_code=code, error_message=message)
        lifecycle.move(conn, current, to, reason=code or message, **fields)


def execute(state_dir: Path, job_id: str) -> None:
    """Run one job to its end state. Safe to call for a job that is no longer queued."""
    lease_s = float(load_config(overrides={"server": {"state_dir": str(state_dir)}})["jobs"]["lease_s"])
    worker = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    job = _claim(state_dir, job_id, worker, lease_s)
    if job is None:
        return
    canceled = threading.Event()
    heartbeat = _Heartbeat(state_dir, job_id, worker, lease_s, canceled)
    heartbeat.start()
    work_dir = state_dir / "work" / job_id
    shutil.rmtree(work_dir, ignore_errors=True)
    work_owner = own_dir(work_dir)
    try:
        kind = get_kind(job["kind"])
        if kind is None or kind.run is None:
            raise JobFailed(app_errors.KIND_NOT_AVAILABLE.code, f"kind {job['kind']!r} cannot run here")
        contract = json.loads(job["contract"])
        ctx = RunContext(
            state_dir, job, contract, input_refs(state_dir, contract["inputs"], job["tenant_id"]), work_dir, canceled
        )
        kind.run(ctx)
        ctx.check_cancel()
        ctx.flush_progress()
        _succeed(state_dir, job, ctx, worker)
    except JobCanceled:
        reason = "LEASE_LOST" if heartbeat.lost.is_set() else "canceled by request"
        _end(state_dir, job_id, worker, "canceled", message=reason)
    except JobFailed as exc:
        _end(state_dir, job_id, worker, "failed", exc.code, exc.message)
    except Exception as exc:
        log.exception("job %s failed", job_id)
        _end(state_dir, job_id, worker, "failed", "INTERNAL", f"{type(exc).__name__}: {exc}")
    finally:
        heartbeat.stopped.set()
        heartbeat.join(timeout=5)
        shutil.rmtree(work_dir, ignore_errors=True)
        work_owner.release()
