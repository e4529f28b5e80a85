"""What a seal attests: the in-toto Statement v1 of one succeeded job.

Subjects are the job's artifacts by name with their SHA-256 in the digest set (what standard
in-toto consumers match by, and the only algorithm some of them accept there) and their BLAKE3,
the blob store's key, in the subject's ``annotations`` (see ``sealforge_verify.statement``). Both
are computed before the success transaction (BLAKE3 when the artifact entered the blob store,
SHA-256 by the runner from the same file), so sealing never reads an artifact while it holds the
write lock. The predicate carries what an auditor needs to judge the result without the
appliance: the contract and its hash, the job record, the input digests, the software that ran
and when it was sealed. A job with no artifact is sealed with its contract as the only subject
(``contract.json``: BLAKE3 = ``contract_hash``, SHA-256 of the same canonical JSON), since a
Statement needs at least one subject.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from typing import Any

from sealforge_verify import __version__ as verifier_version
from sealforge_verify import build_statement, canonical_json

from appliance import __version__ as sealforge_version

CONTRACT_SUBJECT = "contract.json"
# Libraries whose version matters to a result when a kind imported them. Only modules already
# imported are reported: looking a version up must not import anything heavy at seal time.
REPORTED_MODULES = ("numpy", "pandas", "pyarrow", "scipy", "sklearn", "torch", "sdv", "sdmetrics", "blake3")
JOB_FIELDS = (
    "id",
    "kind",
    "tenant_id",
    "status",
    "queue",
    "created_at",
    "started_at",
    "finished_at",
    "attempts",
    "rows",
    "rerun_of",
)


def software_versions() -> dict[str, str]:
    versions = {
        "sealforge": sealforge_version,
        "sealforge_verify": verifier_version,
        "python": platform.python_version(),
    }
    for name in REPORTED_MODULES:
        module = sys.modules.get(name)
        version = getattr(module, "__version__", None) if module is not None else None
        if isinstance(version, str):
            versions[name] = version
    return versions


def subjects(job: dict[str, Any], artifacts: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Subject name → its ``sha256`` and ``blake3`` (``build_statement`` puts each in its place).
    Artifact rows must carry ``sha256`` (the runner adds it)."""
    if not artifacts:
        contract = canonical_json(json.loads(job["contract"]))
        return {CONTRACT_SUBJECT: {"sha256": hashlib.sha256(contract).hexdigest(), "blake3": job["contract_hash"]}}
    return {a["name"]: {"sha256": a["sha256"], "blake3": a["blake3"]} for a in artifacts}


def predicate(job: dict[str, Any], artifacts: list[dict[str, Any]], sealed_at: str, origin: str) -> dict[str, Any]:
    contract = json.loads(job["contract"])
    return {
        "contract": contract,
        "contract_hash": job["contract_hash"],
        "job": {
            **{name: job.get(name) for name in JOB_FIELDS},
            "result": json.loads(job["result"]) if job.get("result") else None,
        },
        "inputs": [{"dataset_id": i["dataset_id"], "blake3": i["blake3"]} for i in contract.get("inputs", [])],
        "artifacts": [
            {k: a[k] for k in ("id", "name", "media_type", "size", "blake3") if k in a}
            for a in sorted(artifacts, key=lambda a: str(a["name"]))
        ],
        "software": software_versions(),
        "log": {"origin": origin},
        "sealed_at": sealed_at,
    }


def job_statement(job: dict[str, Any], artifacts: list[dict[str, Any]], sealed_at: str, origin: str) -> dict[str, Any]:
    """The Statement for ``job`` (a succeeded job row) and its artifact rows."""
    return build_statement(subjects(job, artifacts), predicate(job, artifacts, sealed_at, origin))
