"""Evidence tests: sealed jobs made in-process (fast), or through real workers, and the real
``sealforge-verify`` command run in a subprocess without network (skipped, saying why, on a host
that cannot make a network namespace)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from appliance.clock import now_iso
from appliance.evidence import seal_job
from appliance.ids import new_id
from appliance.jobs.contract import build_contract, contract_hash
from appliance.store import blobs as blobs_store
from appliance.store import jobs as jobs_store
from appliance.store.blobs import BlobStore
from appliance.store.db import transaction
from tests.conftest import LEASE_S

VERIFY_BIN = Path(sys.executable).parent / "sealforge-verify"


def _network_isolation() -> tuple[list[str], str]:
    """``unshare -n`` (a new, empty network namespace) when this host lets us make one, else why not."""
    try:
        made = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [], f"`unshare -n true` could not run: {exc}"
    if made.returncode != 0:
        return [], f"`unshare -n true` exited {made.returncode}: {made.stderr.strip()[:300]}"
    return ["unshare", "-n"], ""


OFFLINE, NO_ISOLATION = _network_isolation()


def run_verifier(
    bundle: Path, trust: Path, *extra: str, binary: Path = VERIFY_BIN
) -> subprocess.CompletedProcess[str]:
    """The real command line, in a process with no network (a fresh ``unshare -n`` namespace).

    Where this host cannot make a network namespace the calling test is skipped, with the reason,
    rather than running the verifier with the network and calling that offline."""
    if not OFFLINE:
        pytest.skip(f"the verifier must run without network and this host cannot isolate it: {NO_ISOLATION}")
    return subprocess.run(
        [*OFFLINE, str(binary), str(bundle), "--trust", str(trust), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def app_config(state_dir: Path) -> dict[str, Any]:
    return {
        "server": {"state_dir": str(state_dir)},
        "ratelimit": {"burst": 10_000, "rate_per_s": 10_000.0},
        "jobs": {"lease_s": LEASE_S, "max_attempts": 2},
    }


def sealed_job(
    db: Any, state_dir: Path, tenant_id: str, files: dict[str, bytes] | None = None, status: str = "succeeded"
) -> dict[str, Any]:
    """A finished job row with its artifacts in the blob store, sealed the way the runner seals.

    The runner is exercised by the worker tests; this is for tests that need many seals quickly.
    """
    files = {"rows.csv": b"id,flow\n1,2.5\n"} if files is None else files
    contract = build_contract("mock", {"n": len(files)}, 7, [])
    now = now_iso()
    job: dict[str, Any] = {
        "id": new_id("job"),
        "tenant_id": tenant_id,
        "kind": "mock",
        "queue": "default",
        "status": status,
        "description": "",
        "contract": json.dumps(contract, sort_keys=True),
        "contract_hash": contract_hash(contract),
        "estimate_micro": 0,
        "estimate_seconds": 1.0,
        "max_attempts": 1,
        "rerun_of": None,
        "created_by": "test",
        "created_at": now,
    }
    store = BlobStore(state_dir)
    with transaction(db):
        jobs_store.insert_job(db, job)
        artifacts = []
        for name, data in files.items():
            blob = store.put_chunks(db, [data])
            blobs_store.unpin(db, [blob])
            digest, size = blob.digest, blob.size
            row = {
                "id": new_id("art"),
                "tenant_id": tenant_id,
                "job_id": job["id"],
                "name": name,
                "media_type": "text/csv",
                "size": size,
                "blake3": digest,
                "created_at": now,
            }
            jobs_store.insert_artifact(db, row)
            row["sha256"] = hashlib.sha256(data).hexdigest()  # the runner adds it the same way
            artifacts.append(row)
        if status == "succeeded":
            jobs_store.update_job(db, job["id"], {"started_at": now, "finished_at": now, "attempts": 1})
            job = jobs_store.get_job(db, job["id"]) or job
            seal_job(db, state_dir, job, artifacts)
    return job


@pytest.fixture
def make_sealed_job(db: Any, state_dir: Path, tenant: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    def make(files: dict[str, bytes] | None = None, status: str = "succeeded", tenant_id: str = "") -> dict[str, Any]:
        return sealed_job(db, state_dir, tenant_id or tenant["id"], files, status)

    return make


def fetch(client: Any, url: str, headers: dict[str, str], dest: Path) -> Path:
    """GET ``url`` into ``dest`` (asserting 200) and return the path."""
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    dest.write_bytes(response.get_data())
    return dest


def trust_file(client: Any, headers: dict[str, str], dest: Path) -> Path:
    """The trust file an auditor builds from GET /v1/keys/signing."""
    body = client.get("/v1/keys/signing", headers=headers).get_json()
    dest.write_text("".join(k["verifier_key"] + "\n" for k in body["data"]))
    return dest
