"""Witnessing end to end: a real appliance seals jobs, two offline witnesses cosign its checkpoint
with `sealforge-verify witness`, the cosigned checkpoint goes back to the appliance, and a bundle
downloaded afterwards verifies only when both are required and present; a forked checkpoint (same
size, another root, signed by the log's own key) is refused by the witness and by the appliance.

Cosignatures are also checked without the project's code: Ed25519 over the C2SP message
(``cosignature/v1\\ntime T\\n`` + body) with ``cryptography`` directly."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask.testing import FlaskClient
from sealforge_verify import Checkpoint, parse_checkpoint, parse_note, sign_checkpoint

from appliance.evidence import keys as evidence_keys
from appliance.evidence.operations import keys_dir
from appliance.services import identity
from appliance.store import audit as audit_store
from tests.conftest import auth
from tests.evidence.conftest import fetch, run_verifier, trust_file
from tests.verifier_cli import run_in_process


def witness_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``sealforge-verify witness ARGS`` as the auditor runs it (its ``main``, in this process: the
    witness needs no isolation; the verifier runs offline in its own, `run_verifier`)."""
    return run_in_process("witness", *args)


class Witness:
    """One auditor's offline witness: its key, vkey and state file under ``root``."""

    def __init__(self, root: Path, name: str) -> None:
        self.key, self.state, self.vkey = root / f"{name}.key", root / f"{name}.state", root / f"{name}.vkey"
        made = witness_cli("keygen", "--name", f"audit.example/{name}", "--out", self.key)
        assert made.returncode == 0, made.stderr
        self.vkey.write_text(made.stdout)

    def cosign(self, checkpoint: Path, trust: Path, *extra: str | Path) -> subprocess.CompletedProcess[str]:
        return witness_cli("cosign", checkpoint, "--key", self.key, "--trust", trust, "--state", self.state, *extra)


def _ref(vkey: str) -> str:
    """``name+keyid`` of a vkey line (its base64 part may hold ``+`` too)."""
    return "+".join(vkey.strip().split("+", 2)[:2])


@pytest.fixture
def operator_headers(db: Any, tenant: dict[str, Any]) -> dict[str, str]:
    return auth(identity.create_key(db, tenant["id"], ["operator"], allow_operator=True)["api_key"])


def _register(client: FlaskClient, headers: dict[str, str], witness: Witness) -> Witness:
    answer = client.post(
        "/v1/seals/witnesses", json={"verifier_key": witness.vkey.read_text().strip()}, headers=headers
    )
    assert answer.status_code == 201, answer.get_json()
    return witness


def _registered(client: FlaskClient, headers: dict[str, str], root: Path, *names: str) -> list[Witness]:
    """Witnesses made under ``root`` (keys, vkeys, state files) and registered, in ``names`` order."""
    return [_register(client, headers, Witness(root, name)) for name in names]


def _check_independently(note: bytes, witness: Witness) -> int:
    """Verify the witness's line on ``note`` from the spec alone; returns its timestamp."""
    name, _, b64 = witness.vkey.read_text().strip().partition("+")
    public = base64.b64decode(b64.split("+", 1)[1])
    assert public[0] == 0x04
    text, _, block = note.decode().partition("\n\n")
    body = text + "\n"
    for line in block.splitlines():
        line_name, sig = line.removeprefix("\u2014 ").split(" ")
        raw = base64.b64decode(sig)
        if line_name == name and raw[:4] == hashlib.sha256(name.encode() + b"\n" + public).digest()[:4]:
            (timestamp,) = struct.unpack(">Q", raw[4:12])
            message = f"cosignature/v1\ntime {timestamp}\n{body}".encode()
            Ed25519PublicKey.from_public_bytes(public[1:]).verify(raw[12:], message)
            return int(timestamp)
    raise AssertionError(f"no cosignature line by {name}")


def test_two_witnesses_cosign_and_a_bundle_needs_both(
    client: FlaskClient,
    keys: dict[str, str],
    operator_headers: dict[str, str],
    make_sealed_job: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    read, admin = auth(keys["read"]), auth(keys["admin"])
    first = make_sealed_job()
    make_sealed_job({"b.csv": b"b"})
    make_sealed_job({"c.csv": b"c"})
    trust = trust_file(client, read, tmp_path / "trust.txt")
    a, b = _registered(client, operator_headers, tmp_path, "a", "b")
    listed = client.get("/v1/seals/witnesses", headers=read).get_json()
    assert [w["name"] for w in listed["data"]] == ["audit.example/a", "audit.example/b"]

    checkpoint = fetch(client, "/v1/seals/checkpoint?format=text", read, tmp_path / "checkpoint.txt")
    by_a = a.cosign(checkpoint, trust, "--out", tmp_path / "by-a.txt")
    assert by_a.returncode == 0 and "trusted on first use" in by_a.stderr, by_a.stderr
    line_b = b.cosign(checkpoint, trust, "--line-only")
    assert line_b.returncode == 0, line_b.stderr

    sent_a = client.post("/v1/seals/cosignatures", json={"note": (tmp_path / "by-a.txt").read_text()}, headers=admin)
    assert sent_a.status_code == 201, sent_a.get_json()
    assert [x["witness"].split("+")[0] for x in sent_a.get_json()["accepted"]] == ["audit.example/a"]
    sent_b = client.post(
        "/v1/seals/cosignatures", json={"tree_size": 3, "cosignatures": [line_b.stdout]}, headers=admin
    )
    assert sent_b.status_code == 201, sent_b.get_json()
    assert len(sent_b.get_json()["cosignatures"]) == 2

    served = client.get("/v1/seals/checkpoint", headers=read).get_json()
    assert len(parse_note(served["note"]).signatures) == 3
    bundle = fetch(client, f"/v1/evidence/{first['id']}", read, tmp_path / "bundle.tar")
    with tarfile.open(bundle) as tar:
        member = tar.extractfile("checkpoint.txt")
        assert member is not None
        in_bundle = member.read()
    assert in_bundle == served["note"].encode()
    for witness in (a, b):
        _check_independently(in_bundle, witness)

    both = ("--witness", str(a.vkey), "--witness", str(b.vkey))
    passed = run_verifier(bundle, trust, *both, "--min-witnesses", "2")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "PASS  witnesses" in passed.stdout and "2 of the 2 given witness(es)" in passed.stdout
    three = run_verifier(bundle, trust, *both, "--min-witnesses", "3")
    assert three.returncode == 1 and "NOT ENOUGH WITNESSES" in three.stdout and "3 required" in three.stdout

    # the log moves on: the latest checkpoint has no cosignature yet, the witnessed one still holds the seal
    late = make_sealed_job({"late.csv": b"late"})
    latest = fetch(client, f"/v1/evidence/{first['id']}", read, tmp_path / "latest.tar")
    unwitnessed = run_verifier(latest, trust, *both, "--min-witnesses", "1")
    assert unwitnessed.returncode == 1 and "0 of the 2 given witness(es)" in unwitnessed.stdout
    answer = client.get(f"/v1/evidence/{first['id']}?witnessed=true", headers=read)
    assert answer.status_code == 200 and answer.headers["X-Tree-Size"] == "3"
    witnessed = tmp_path / "witnessed.tar"
    witnessed.write_bytes(answer.get_data())
    assert run_verifier(witnessed, trust, *both, "--min-witnesses", "2").returncode == 0
    too_new = client.get(f"/v1/evidence/{late['id']}?witnessed=true", headers=read)
    assert too_new.status_code == 409 and "leaf 3" in too_new.get_json()["error"]["message"]


def test_a_forked_checkpoint_is_refused_by_the_witness_and_the_appliance(
    client: FlaskClient,
    db: Any,
    state_dir: Path,
    keys: dict[str, str],
    operator_headers: dict[str, str],
    make_sealed_job: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    read, admin = auth(keys["read"]), auth(keys["admin"])
    make_sealed_job()
    make_sealed_job({"b.csv": b"b"})
    trust = trust_file(client, read, tmp_path / "trust.txt")
    (a,) = _registered(client, operator_headers, tmp_path, "a")
    real = fetch(client, "/v1/seals/checkpoint?format=text", read, tmp_path / "real.txt")
    assert a.cosign(real, trust).returncode == 0

    # the same log key signs a second tree of size 2 with another root: a split view
    issued = parse_checkpoint(parse_note(real.read_bytes()).text)
    _, signer = evidence_keys.active_signer(db, keys_dir(state_dir))
    other_root = hashlib.sha256(b"another history").digest()
    forked = tmp_path / "forked.txt"
    forked.write_bytes(sign_checkpoint(Checkpoint(issued.origin, issued.size, other_root), [signer]))
    state_before = a.state.read_bytes()
    refused = a.cosign(forked, trust)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "REFUSED to cosign: LOG FORKED" in refused.stderr and f"at size {issued.size}" in refused.stderr
    assert a.state.read_bytes() == state_before

    # a witness that was shown only the fork cosigns it; the appliance will not serve that
    (fooled,) = _registered(client, operator_headers, tmp_path, "fooled")
    fooled_out = fooled.cosign(forked, trust)
    assert fooled_out.returncode == 0
    rejected = client.post("/v1/seals/cosignatures", json={"note": fooled_out.stdout}, headers=admin)
    assert rejected.status_code == 400
    assert "differs from the checkpoint this appliance issued at size 2" in rejected.get_json()["error"]["message"]

    # the real log grows: the witness wants a consistency proof, and cosigns with it
    for i in range(3):
        make_sealed_job({f"more-{i}.csv": b"%d" % i})
    grown = fetch(client, "/v1/seals/checkpoint?format=text", read, tmp_path / "grown.txt")
    no_proof = a.cosign(grown, trust)
    assert no_proof.returncode == 1 and "/v1/seals/proof/consistency?from=2&to=5" in no_proof.stderr
    proof = fetch(client, "/v1/seals/proof/consistency?from=2&to=5", read, tmp_path / "proof.json")
    with_proof = a.cosign(grown, trust, "--proof", proof)
    assert with_proof.returncode == 0 and "grew from 2 to 5" in with_proof.stderr, with_proof.stderr
    sent = client.post("/v1/seals/cosignatures", json={"note": with_proof.stdout}, headers=admin)
    assert sent.status_code == 201, sent.get_json()


def test_registering_and_sending_cosignatures_reject_bad_input(
    client: FlaskClient,
    keys: dict[str, str],
    operator_headers: dict[str, str],
    make_sealed_job: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    read, admin = auth(keys["read"]), auth(keys["admin"])
    make_sealed_job()
    trust = trust_file(client, read, tmp_path / "trust.txt")
    a, stranger = Witness(tmp_path, "a"), Witness(tmp_path, "stranger")
    vkey = a.vkey.read_text().strip()

    def register(body: Any, headers: dict[str, str] = operator_headers) -> Any:
        return client.post("/v1/seals/witnesses", json=body, headers=headers)

    assert register({"verifier_key": vkey}, admin).status_code == 403, "a tenant admin cannot register"
    assert register({"verifier_key": "garbage"}).status_code == 400
    log_key = client.get("/v1/keys/signing", headers=read).get_json()["data"][0]["verifier_key"]
    not_a_cosigner = register({"verifier_key": log_key})
    assert not_a_cosigner.status_code == 400 and "0x04" in not_a_cosigner.get_json()["error"]["message"]
    assert register({"verifier_key": vkey, "extra": 1}).status_code == 400
    assert register({"verifier_key": vkey}).status_code == 201
    assert register({"verifier_key": vkey}).status_code == 409

    checkpoint = fetch(client, "/v1/seals/checkpoint?format=text", read, tmp_path / "checkpoint.txt")
    good = a.cosign(checkpoint, trust).stdout
    by_stranger = stranger.cosign(checkpoint, trust).stdout

    def send(body: Any, headers: dict[str, str] = admin) -> Any:
        return client.post("/v1/seals/cosignatures", json=body, headers=headers)

    assert send({"note": good}, read).status_code == 403
    for body in (
        {},
        {"note": good, "tree_size": 1},
        {"tree_size": 1},
        {"note": "no signatures at all\n"},
        {"note": "x" * 70_000},
        {"note": 5},
    ):
        answer = send(body)
        assert answer.status_code == 400, (body, answer.get_json())
        assert answer.get_json()["error"]["code"] == "VALIDATION_FAILED"
    unknown = send({"note": by_stranger})
    assert unknown.status_code == 400 and "registered witness" in unknown.get_json()["error"]["message"]
    assert "POST /v1/seals/witnesses" in unknown.get_json()["error"]["hint"]
    lines = good.split("\n\n", 1)[1].splitlines()
    tampered = lines[-1][:-6] + ("AAAA==" if not lines[-1].endswith("AAAA==") else "BBBB==")
    bad_sig = send({"tree_size": 1, "cosignatures": [tampered]})
    assert bad_sig.status_code == 400 and "does not verify" in bad_sig.get_json()["error"]["message"]
    assert send({"tree_size": 9, "cosignatures": [lines[-1]]}).status_code == 404
    assert send({"tree_size": 1, "cosignatures": ["not a signature line"]}).status_code == 400
    assert client.get("/v1/seals/checkpoint", headers=read).get_json()["note"] == checkpoint.read_text()

    first = send({"note": good})
    assert first.status_code == 201 and first.get_json()["accepted"][0]["stored"] is True
    again = send({"note": good + by_stranger.split("\n\n", 1)[1].splitlines()[-1] + "\n"})
    assert again.status_code == 201
    assert again.get_json()["accepted"][0]["stored"] is False, "the same cosignature again changes nothing"
    assert again.get_json()["ignored"] == [_ref(stranger.vkey.read_text())]
    assert [c["witness"] for c in again.get_json()["cosignatures"]] == [_ref(vkey)]


def test_the_admin_cli_registers_witnesses(state_dir: Path, db: Any, tmp_path: Path) -> None:
    """`sealforge admin witnesses add|list`: the operator's way on the appliance itself."""
    from click.testing import CliRunner

    from appliance.cli.main import cli

    a = Witness(tmp_path, "a")
    vkey = a.vkey.read_text().strip()
    runner = CliRunner()
    added = runner.invoke(
        cli, ["admin", "witnesses", "add", vkey, "--description", "plant auditor", "--state-dir", str(state_dir)]
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["key_id"] == _ref(vkey)
    again = runner.invoke(cli, ["admin", "witnesses", "add", vkey, "--state-dir", str(state_dir)])
    assert again.exit_code == 1 and "CONFLICT" in again.output
    bad = runner.invoke(cli, ["admin", "witnesses", "add", "nonsense", "--state-dir", str(state_dir)])
    assert bad.exit_code == 1 and "VALIDATION_FAILED" in bad.output
    listed = runner.invoke(cli, ["admin", "witnesses", "list", "--state-dir", str(state_dir)])
    assert [w["description"] for w in json.loads(listed.output)["data"]] == ["plant auditor"]
    removed = runner.invoke(cli, ["admin", "witnesses", "remove", _ref(vkey), "--state-dir", str(state_dir)])
    assert removed.exit_code == 0 and json.loads(removed.output)["cosignatures_removed"] == 0, removed.output
    gone = runner.invoke(cli, ["admin", "witnesses", "remove", _ref(vkey), "--state-dir", str(state_dir)])
    assert gone.exit_code == 1 and "NOT_FOUND" in gone.output
    listed = runner.invoke(cli, ["admin", "witnesses", "list", "--state-dir", str(state_dir)])
    assert json.loads(listed.output)["data"] == []


def test_removing_a_witness_stops_serving_its_cosignatures_but_old_bundles_still_verify(
    client: FlaskClient,
    db: Any,
    keys: dict[str, str],
    operator_headers: dict[str, str],
    make_sealed_job: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    read, admin = auth(keys["read"]), auth(keys["admin"])
    job = make_sealed_job()
    trust = trust_file(client, read, tmp_path / "trust.txt")
    a, b = _registered(client, operator_headers, tmp_path, "a", "b")
    checkpoint = fetch(client, "/v1/seals/checkpoint?format=text", read, tmp_path / "checkpoint.txt")
    lines = [w.cosign(checkpoint, trust, "--line-only").stdout for w in (a, b)]
    sent = client.post("/v1/seals/cosignatures", json={"tree_size": 1, "cosignatures": lines}, headers=admin)
    assert sent.status_code == 201, sent.get_json()
    before = fetch(client, f"/v1/evidence/{job['id']}?witnessed=true", read, tmp_path / "before.tar")
    ref_a = _ref(a.vkey.read_text())

    def remove(key_id: str, headers: dict[str, str] = operator_headers) -> Any:
        return client.delete(f"/v1/seals/witnesses/{key_id}", headers=headers)

    assert remove(ref_a, admin).status_code == 403, "a tenant admin cannot retire the appliance's witnesses"
    assert remove(ref_a, read).status_code == 403
    for bad in ("no-key-id", "audit.example/a+XYZ", "audit.example/a+1234abcd+extra", "+1234abcd"):
        answer = remove(bad)
        assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "VALIDATION_FAILED", bad
    unknown = remove("audit.example/nobody+1234abcd")
    assert unknown.status_code == 404 and "GET /v1/seals/witnesses" in unknown.get_json()["error"]["hint"]

    removed = remove(ref_a)
    assert removed.status_code == 200, removed.get_json()
    assert removed.get_json()["key_id"] == ref_a and removed.get_json()["cosignatures_removed"] == 1
    assert remove(ref_a).status_code == 404, "removing twice"
    listed = client.get("/v1/seals/witnesses", headers=read).get_json()
    assert [w["key_id"] for w in listed["data"]] == [_ref(b.vkey.read_text())]

    # served notes carry only the witnesses still registered; a's lines are refused from now on
    served = parse_note(client.get("/v1/seals/checkpoint", headers=read).get_json()["note"])
    assert [s.name for s in served.signatures][1:] == ["audit.example/b"]
    again = client.post("/v1/seals/cosignatures", json={"tree_size": 1, "cosignatures": [lines[0]]}, headers=admin)
    assert again.status_code == 400 and ref_a in again.get_json()["error"]["message"]
    after = fetch(client, f"/v1/evidence/{job['id']}?witnessed=true", read, tmp_path / "after.tar")
    both = ("--witness", str(a.vkey), "--witness", str(b.vkey))
    assert run_verifier(after, trust, *both, "--min-witnesses", "2").returncode == 1
    assert run_verifier(after, trust, "--witness", str(b.vkey)).returncode == 0

    # a bundle downloaded before keeps a's line, which verifies offline as it did
    kept = run_verifier(before, trust, *both, "--min-witnesses", "2")
    assert kept.returncode == 0 and "2 of the 2 given witness(es)" in kept.stdout, kept.stdout

    # with no witness left there is no witnessed checkpoint; registering a again brings nothing back
    assert remove(_ref(b.vkey.read_text())).status_code == 200
    assert client.get(f"/v1/evidence/{job['id']}?witnessed=true", headers=read).status_code == 409
    _register(client, operator_headers, a)
    assert len(parse_note(client.get("/v1/seals/checkpoint", headers=read).get_json()["note"]).signatures) == 1

    trail = [(e["method"], e["path"], e["status"]) for e in audit_store.iter_entries(db) if e["method"] == "DELETE"]
    assert ("DELETE", f"/v1/seals/witnesses/{ref_a}", 200) in trail
    assert ("DELETE", f"/v1/seals/witnesses/{ref_a}", 403) in trail, "the refused attempt is audited too"
