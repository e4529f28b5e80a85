"""Statements the appliance seals, read by independent in-toto implementations (test-only
dependencies, never the verifier's): in-toto-attestation validates them, and sigstore-python's
reading of their SHA-256 subjects is pinned down, including where it departs from the spec."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement as InTotoStatement
from sigstore import dsse as sigstore_dsse

from appliance.store import seals as seals_store

FILES = {"rows.csv": b"id,flow\n1,2.5\n", "report/summary.json": b'{"rows": 1}'}


def _statement(db: Any, job: dict[str, Any]) -> bytes:
    seal = seals_store.seal_of_job(db, job["id"], job["tenant_id"])
    assert seal is not None
    return base64.b64decode(json.loads(bytes(seal["envelope"]))["payload"])


def test_in_toto_attestation_validates_the_statement_and_its_sha256_subjects(
    db: Any, make_sealed_job: Callable[..., dict[str, Any]]
) -> None:
    payload = _statement(db, make_sealed_job(FILES))
    proto = json_format.Parse(payload, statement_pb2.Statement())  # type: ignore[attr-defined]
    InTotoStatement.copy_from_pb(proto).validate()
    digests = {s.name: dict(s.digest) for s in proto.subject}
    assert digests == {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "blake3": digests[name]["blake3"]}
        for name, data in FILES.items()
    }


def test_a_job_without_artifacts_has_a_sha256_subject_too(
    db: Any, make_sealed_job: Callable[..., dict[str, Any]]
) -> None:
    proto = json_format.Parse(_statement(db, make_sealed_job({})), statement_pb2.Statement())  # type: ignore[attr-defined]
    InTotoStatement.copy_from_pb(proto).validate()
    assert [sorted(s.digest) for s in proto.subject] == [["blake3", "sha256"]]


def test_sigstore_python_reads_everything_but_the_blake3_digest(
    db: Any, make_sealed_job: Callable[..., dict[str, Any]]
) -> None:
    """sigstore-python 4.5 accepts only SHA-2/SHA-3 keys in a digest set, although the in-toto
    digest-set spec tells consumers to ignore algorithms they do not know. So it refuses the
    statement for its ``blake3`` key alone: with that key left out it parses every field and finds
    each subject by its SHA-256. When sigstore-python follows the spec, the first assertion fails
    and this test should become a plain parse of the payload."""
    payload = _statement(db, make_sealed_job(FILES))
    with pytest.raises(sigstore_dsse.Error, match=r"digest\.blake3"):
        sigstore_dsse.Statement(payload)

    statement = json.loads(payload)
    for subject in statement["subject"]:
        del subject["digest"]["blake3"]
    parsed = sigstore_dsse.Statement(json.dumps(statement).encode())
    sha256 = sigstore_dsse.HashAlgorithm.SHA2_256
    for name, data in FILES.items():
        wanted = sigstore_dsse.Hashed(algorithm=sha256, digest=hashlib.sha256(data).digest())
        assert parsed._matches_digest(wanted), name  # its subject matcher, as `sigstore verify` uses it
    stranger = sigstore_dsse.Hashed(algorithm=sha256, digest=hashlib.sha256(b"other").digest())
    assert not parsed._matches_digest(stranger)
