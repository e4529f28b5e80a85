"""Through the runner: a succeeded job is sealed, its bundle verifies offline with the real
``sealforge-verify``, and tampering or an untrusted key makes it fail; the `verify` kind checks a
job's evidence. Key rotation runs through a real worker process, which must pick up the new key
without a restart, and keeps old bundles verifiable. (The first test runs its jobs in-process,
through the path a worker takes, `InlineJobs`: a worker's start-up is what the rotation test
needs, not what sealing does.)"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sealforge_verify import generate_signer

from appliance.cli.main import cli
from tests.conftest import InlineJobs, auth, mock_schema, wait_for
from tests.evidence.conftest import NO_ISOLATION, OFFLINE, fetch, run_verifier, trust_file


def _submit(client: FlaskClient, headers: dict[str, str], body: dict[str, Any]) -> str:
    job = client.post("/v1/jobs", json=body, headers=headers)
    assert job.status_code == 202, job.get_json()
    return str(job.get_json()["id"])


def _mock(rows: int = 500, seed: int = 3) -> dict[str, Any]:
    return {"kind": "mock", "params": {"schema": mock_schema(rows)}, "seed": seed}


def _run_mock(client: FlaskClient, headers: dict[str, str], seed: int = 3) -> dict[str, Any]:
    """A mock job run by the real worker the test started."""
    job_id = _submit(client, headers, _mock(seed=seed))
    return wait_for(client, headers, job_id, {"succeeded", "failed"})  # type: ignore[no-any-return]


def _flip_envelope_byte(bundle: Path, out: Path) -> None:
    """Change one character inside the envelope's base64 payload, in place in the tar bytes."""
    with tarfile.open(bundle) as tf:
        member = tf.getmember("envelope.json")
        envelope = tf.extractfile(member).read()  # type: ignore[union-attr]
    start = envelope.index(b'"payload":"') + len(b'"payload":"') + 40
    data = bytearray(bundle.read_bytes())
    at = member.offset_data + start
    data[at] = ord("B") if data[at] != ord("B") else ord("C")
    out.write_bytes(bytes(data))


def test_succeeded_job_is_sealed_and_its_bundle_verifies_offline(
    client: FlaskClient, keys: dict[str, str], inline_jobs: InlineJobs, tmp_path: Path, state_dir: Path
) -> None:
    headers = auth(keys["generate"])
    job = inline_jobs.finish(client, headers, _submit(client, headers, _mock()))

    seals = client.get(f"/v1/seals?job_id={job['id']}", headers=headers).get_json()
    assert seals["count"] == 1
    seal = client.get(f"/v1/seals/{seals['data'][0]['id']}", headers=headers).get_json()
    assert seal["job_id"] == job["id"] and seal["leaf_index"] == 0
    assert seal["envelope"]["payloadType"] == "application/vnd.in-toto+json"

    response = client.get(f"/v1/evidence/{job['id']}", headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/x-tar"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{job["id"]}.tar"'
    assert int(response.headers["Content-Length"]) == len(response.data)
    bundle = tmp_path / "bundle.tar"
    bundle.write_bytes(response.data)
    trust = trust_file(client, headers, tmp_path / "trust.txt")

    arts = client.get(f"/v1/artifacts?job_id={job['id']}", headers=headers).get_json()["data"]
    art_dir = tmp_path / "artifacts"
    art_dir.mkdir()
    for art in arts:
        (art_dir / art["name"]).write_bytes(client.get(f"/v1/artifacts/{art['id']}/download", headers=headers).data)

    ok = run_verifier(bundle, trust, "--artifacts", str(art_dir), "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    report = json.loads(ok.stdout)
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert statuses["artifact_digest:readings.parquet"] == "pass"
    parquet = (art_dir / "readings.parquet").read_bytes()
    statement = json.loads(base64.b64decode(seal["envelope"]["payload"]))
    assert statement["subject"] == [
        {
            "name": "readings.parquet",
            "digest": {"sha256": hashlib.sha256(parquet).hexdigest()},
            "annotations": {"blake3": arts[0]["blake3"]},
        }
    ]
    assert statuses["inclusion_proof"] == statuses["checkpoint_signature"] == "pass"

    embedded = fetch(client, f"/v1/evidence/{job['id']}?include_artifacts=true", headers, tmp_path / "full.tar")
    full = run_verifier(embedded, trust)
    assert full.returncode == 0, full.stdout
    with tarfile.open(embedded) as tf:
        assert "artifacts/readings.parquet" in tf.getnames()

    tampered = tmp_path / "tampered.tar"
    _flip_envelope_byte(bundle, tampered)
    bad = run_verifier(tampered, trust, "--json")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    failed = {c["name"] for c in json.loads(bad.stdout)["checks"] if c["status"] == "fail"}
    assert {"dsse_signature", "inclusion_proof"} <= failed

    foreign = tmp_path / "foreign.txt"
    foreign.write_text(generate_signer("sealforge-0badc0de").verifier.text + "\n")
    assert run_verifier(bundle, foreign).returncode == 1

    # the verify kind runs the same checks inside the appliance
    verify = {"kind": "verify", "params": {"job_id": job["id"]}}
    result = inline_jobs.finish(client, headers, _submit(client, headers, verify))
    assert result["result"]["ok"] is True
    assert set(result["result"]["checks"].values()) == {"pass"}
    blob = state_dir / "blobs" / arts[0]["blake3"][:2] / arts[0]["blake3"][2:]
    blob.write_bytes(blob.read_bytes() + b"!")
    again = _submit(client, headers, verify)
    result = inline_jobs.finish(client, headers, again)["result"]
    assert result["ok"] is False and result["checks"]["artifact_digest:readings.parquet"] == "fail"
    report_art = client.get(f"/v1/artifacts?job_id={again}", headers=headers).get_json()["data"]
    assert [a["name"] for a in report_art] == ["verify-report.json"]


def test_key_rotation_keeps_old_bundles_valid(
    client: FlaskClient, keys: dict[str, str], start_worker: Any, tmp_path: Path, state_dir: Path
) -> None:
    start_worker()
    headers = auth(keys["generate"])
    first = _run_mock(client, headers, seed=1)
    old_bundle = fetch(client, f"/v1/evidence/{first['id']}", headers, tmp_path / "old.tar")
    old_trust = trust_file(client, headers, tmp_path / "old-trust.txt")
    old_key = client.get("/v1/keys/signing", headers=headers).get_json()["data"][0]
    assert old_key["active"] and old_key["retired_at"] is None
    assert old_key["key_id"].startswith("sealforge.local/seal-log/")

    rotated = CliRunner().invoke(cli, ["admin", "keys", "rotate-signing", "--state-dir", str(state_dir)])
    assert rotated.exit_code == 0, rotated.output
    answer = json.loads(rotated.output)
    assert answer["retired"]["key_id"] == old_key["key_id"] and answer["active"]["key_id"] != old_key["key_id"]
    signing_dir = state_dir / "keys" / "signing"
    # old private key destroyed; a file name writes the key name's "/" as "_"
    assert sorted(os.listdir(signing_dir)) == [answer["active"]["key_id"].replace("/", "_") + ".key"]
    assert stat.S_IMODE((signing_dir / os.listdir(signing_dir)[0]).stat().st_mode) == 0o600

    second = _run_mock(client, headers, seed=2)  # same worker process: it must pick up the new key
    seal = client.get(f"/v1/seals?job_id={second['id']}", headers=headers).get_json()["data"][0]
    assert seal["signing_key_id"] == answer["active"]["key_id"]
    listed = client.get("/v1/keys/signing", headers=headers).get_json()
    assert [(k["key_id"], k["active"]) for k in listed["data"]] == [
        (old_key["key_id"], False),
        (answer["active"]["key_id"], True),
    ]

    assert run_verifier(old_bundle, old_trust).returncode == 0  # kept from before the rotation
    new_bundle = fetch(client, f"/v1/evidence/{second['id']}", headers, tmp_path / "new.tar")
    assert run_verifier(new_bundle, old_trust).returncode == 1  # signed by a key the old trust lacks
    both = trust_file(client, headers, tmp_path / "both.txt")
    assert run_verifier(new_bundle, both).returncode == 0
    again = fetch(client, f"/v1/evidence/{first['id']}", headers, tmp_path / "old-again.tar")
    assert run_verifier(again, both).returncode == 0


# Inside the verifier's own process: prove there is no network (a connection to a port that is
# listening outside fails), then hand the same process to the sealforge-verify entry point.
_PROBE_THEN_VERIFY = """
import socket, sys
port = int(sys.argv[1])
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
except OSError as exc:
    sys.stderr.write(f"no network: {exc}\\n")
else:
    sys.exit("the network is reachable from the verifier's process")
from sealforge_verify.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_the_verifier_really_runs_without_network(
    client: FlaskClient, keys: dict[str, str], make_sealed_job: Any, tmp_path: Path
) -> None:
    if not OFFLINE:
        pytest.skip(f"this host cannot make a network namespace: {NO_ISOLATION}")
    headers = auth(keys["read"])
    job = make_sealed_job({"readings.csv": b"t,flow\n0,1.5\n1,1.7\n"})
    bundle = fetch(client, f"/v1/evidence/{job['id']}?include_artifacts=true", headers, tmp_path / "bundle.tar")
    trust = trust_file(client, headers, tmp_path / "trust.txt")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        args = [str(port), str(bundle), "--trust", str(trust), "--json"]
        reachable = subprocess.run(
            [sys.executable, "-c", _PROBE_THEN_VERIFY, *args], capture_output=True, text=True, timeout=60
        )
        assert reachable.returncode != 0 and "network is reachable" in reachable.stderr  # the probe can tell
        isolated = subprocess.run(
            [*OFFLINE, sys.executable, "-c", _PROBE_THEN_VERIFY, *args], capture_output=True, text=True, timeout=60
        )
    assert isolated.returncode == 0, isolated.stdout + isolated.stderr
    assert "no network" in isolated.stderr
    checks = {c["name"]: c["status"] for c in json.loads(isolated.stdout)["checks"]}
    assert checks["dsse_signature"] == checks["inclusion_proof"] == checks["checkpoint_signature"] == "pass", checks
    assert checks["artifact_digest:readings.csv"] == "pass", checks
    # the installed console script, the way run_verifier calls it for every other test here
    assert run_verifier(bundle, trust).returncode == 0
