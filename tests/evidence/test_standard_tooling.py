"""Evidence the appliance seals, read by independent implementations (test-only dependencies, never
the verifier's): securesystemslib verifies every DSSE envelope with the appliance's published key
and refuses a tampered one, in-toto-attestation validates every statement, and sigstore-python
parses every statement and finds each subject by its SHA-256. The jobs are real: a mock and a
simulate run by the runner, and jobs with two artifacts and with none, sealed as the runner seals.

Each artifact's bytes come from the bundle (``include_artifacts=true``; a job without artifacts has
its contract there) and are hashed here with ``hashlib`` and ``blake3`` directly."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import blake3
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask.testing import FlaskClient
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement as InTotoStatement
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey
from sigstore import dsse as sigstore_dsse

from tests.conftest import InlineJobs, auth, mock_schema

FILES = {"rows.csv": b"id,flow\n1,2.5\n", "report/summary.json": b'{"rows": 1}'}
SIMULATE = {"plant": "water", "duration": 300, "sample_rate": 1}


@dataclass
class Sealed:
    """One sealed job as an auditor gets it: the logged envelope bytes and the artifacts' bytes."""

    job_id: str
    envelope: bytes
    artifacts: dict[str, bytes]

    @property
    def payload(self) -> bytes:
        return base64.b64decode(json.loads(self.envelope)["payload"])


@pytest.fixture
def sealed(
    client: FlaskClient,
    keys: dict[str, str],
    inline_jobs: InlineJobs,
    make_sealed_job: Callable[..., dict[str, Any]],
) -> dict[str, Sealed]:
    """Four sealed jobs by shape: ``mock``, ``simulate``, ``files`` (two artifacts), ``no_artifacts``."""
    headers = auth(keys["generate"])
    ids = {}
    for name, body in {
        "mock": {"kind": "mock", "params": {"schema": mock_schema(50)}, "seed": 3},
        "simulate": {"kind": "simulate", "params": SIMULATE, "seed": 5},
    }.items():
        submitted = client.post("/v1/jobs", json=body, headers=headers)
        assert submitted.status_code == 202, submitted.get_json()
        ids[name] = inline_jobs.finish(client, headers, submitted.get_json()["id"])["id"]
    ids["files"] = make_sealed_job(FILES)["id"]
    ids["no_artifacts"] = make_sealed_job({})["id"]
    return {name: _from_bundle(client, headers, job_id) for name, job_id in ids.items()}


def _from_bundle(client: FlaskClient, headers: dict[str, str], job_id: str) -> Sealed:
    response = client.get(f"/v1/evidence/{job_id}?include_artifacts=true", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    members = {}
    with tarfile.open(fileobj=io.BytesIO(response.get_data())) as tar:
        for member in tar.getmembers():
            data = tar.extractfile(member)
            assert data is not None
            members[member.name] = data.read()
    artifacts = {
        name.removeprefix("artifacts/"): data for name, data in members.items() if name.startswith("artifacts/")
    }
    assert artifacts
    return Sealed(job_id, members["envelope.json"], artifacts)


def _sslib_key(vkey: str) -> SSlibKey:
    """A securesystemslib key from a signed-note verifier key line (``name+hash+base64(0x01‖key)``),
    read from the format alone; its keyid is ``name+hash``, what the envelope's signature names."""
    name, key_hash, encoded = vkey.strip().split("+", 2)
    raw = base64.b64decode(encoded)
    assert raw[0] == 0x01 and len(raw) == 33
    return SSlibKey.from_crypto(Ed25519PublicKey.from_public_bytes(raw[1:]), keyid=f"{name}+{key_hash}")


def test_securesystemslib_verifies_every_envelope(
    client: FlaskClient, keys: dict[str, str], sealed: dict[str, Sealed]
) -> None:
    read = auth(keys["read"])
    published = client.get("/v1/keys/signing", headers=read).get_json()["data"]
    trusted = [_sslib_key(k["verifier_key"]) for k in published]
    listed = client.get("/v1/seals?limit=100", headers=read).get_json()
    assert listed["count"] == len(sealed) == 4
    for seal in listed["data"]:
        envelope = client.get(f"/v1/seals/{seal['id']}", headers=read).get_json()["envelope"]
        verified = SslibEnvelope.from_dict(copy.deepcopy(envelope)).verify(trusted, 1)
        assert [key.keyid for key in verified.values()] == [trusted[0].keyid], seal["job_id"]
    for name, job in sealed.items():  # the exact bytes a bundle holds and the log hashed
        envelope = SslibEnvelope.from_dict(json.loads(job.envelope))
        assert envelope.payload_type == "application/vnd.in-toto+json"
        assert list(envelope.verify(trusted, 1)) == [trusted[0].keyid], name

    good = json.loads(sealed["files"].envelope)
    tampered = copy.deepcopy(good)
    tampered["payload"] = base64.b64encode(sealed["files"].payload.replace(b"rows.csv", b"rows.cs_")).decode()
    with pytest.raises(VerificationError):
        SslibEnvelope.from_dict(tampered).verify(trusted, 1)
    retyped = {**copy.deepcopy(good), "payloadType": "application/json"}
    with pytest.raises(VerificationError):
        SslibEnvelope.from_dict(retyped).verify(trusted, 1)
    stranger = SSlibKey.from_crypto(Ed25519PrivateKey.generate().public_key(), keyid=trusted[0].keyid)
    with pytest.raises(VerificationError):
        SslibEnvelope.from_dict(copy.deepcopy(good)).verify([stranger], 1)


def test_in_toto_attestation_validates_every_statement_and_its_digests(sealed: dict[str, Sealed]) -> None:
    for name, job in sealed.items():
        proto = json_format.Parse(job.payload, statement_pb2.Statement())  # type: ignore[attr-defined]
        InTotoStatement.copy_from_pb(proto).validate()
        subjects = {s.name: (dict(s.digest), json_format.MessageToDict(s.annotations)) for s in proto.subject}
        assert subjects == {
            artifact: ({"sha256": hashlib.sha256(data).hexdigest()}, {"blake3": blake3.blake3(data).hexdigest()})
            for artifact, data in job.artifacts.items()
        }, name
    assert set(sealed["files"].artifacts) == set(FILES)
    assert set(sealed["no_artifacts"].artifacts) == {"contract.json"}
    assert set(sealed["simulate"].artifacts) == {"water-telemetry.parquet", "manifest.json"}


def test_sigstore_python_parses_every_statement_and_finds_each_subject_by_sha256(sealed: dict[str, Sealed]) -> None:
    sha256 = sigstore_dsse.HashAlgorithm.SHA2_256
    stranger = sigstore_dsse.Hashed(algorithm=sha256, digest=hashlib.sha256(b"other").digest())
    for name, job in sealed.items():
        parsed = sigstore_dsse.Statement(job.payload)
        assert parsed._contents == job.payload  # it keeps the signed bytes as they are
        for artifact, data in job.artifacts.items():
            wanted = sigstore_dsse.Hashed(algorithm=sha256, digest=hashlib.sha256(data).digest())
            assert parsed._matches_digest(wanted), (name, artifact)  # its subject matcher, as `sigstore verify` uses it
        assert not parsed._matches_digest(stranger), name
