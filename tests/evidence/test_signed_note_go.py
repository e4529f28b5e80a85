"""Checkpoints open with the Go reference implementation of C2SP signed-note,
``golang.org/x/mod/sumdb/note``: real appliance checkpoints (GET /v1/seals/checkpoint, the
tlog-tiles checkpoint, a bundle's ``checkpoint.txt``), one cosigned by two witnesses (opened with
the log key alone, the witnesses' lines ignored as unknown signers), and tampered or foreign ones
(refused).

``tests/evidence/go/note_open.go`` is built in the test's temporary directory from Debian's Go and
its packaged module source, offline (GOPATH mode, no module proxy). Without them the tests skip,
loudly, naming the packages: ``apt-get install -y golang-go golang-golang-x-mod-dev`` (``.ci/run``
installs them)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sealforge_verify import Checkpoint, generate_signer, parse_checkpoint, parse_note, sign_checkpoint

from appliance.services import identity
from tests.conftest import auth
from tests.verifier_cli import run_in_process

SOURCE = Path(__file__).parent / "go" / "note_open.go"
GOPATH = Path("/usr/share/gocode")
NOTE_PACKAGE = GOPATH / "src" / "golang.org" / "x" / "mod" / "sumdb" / "note"
INSTALL = "apt-get install -y golang-go golang-golang-x-mod-dev"


@pytest.fixture(scope="module")
def note_open(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go program, built offline from Debian's packages; skips (with a warning) without them."""
    go = shutil.which("go")
    if go is None or not NOTE_PACKAGE.is_dir():
        missing = "the go command" if go is None else str(NOTE_PACKAGE)
        reason = f"the Go signed-note check is SKIPPED: it needs {missing}; install it with `{INSTALL}` (.ci/run does)"
        warnings.warn(reason, stacklevel=1)
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("note_open")
    shutil.copy(SOURCE, root / "note_open.go")
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": str(GOPATH),
        "GOCACHE": str(root / "cache"),
        "GOFLAGS": "",
        "GOPROXY": "off",
        "CGO_ENABLED": "0",
    }
    built = subprocess.run(
        [go, "build", "-o", "note_open", "note_open.go"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert built.returncode == 0, built.stderr
    return root / "note_open"


def _open(binary: Path, note: bytes, *vkeys: str, where: Path) -> subprocess.CompletedProcess[str]:
    """Run the Go opener on ``note`` with the given verifier key lines."""
    where.mkdir(parents=True, exist_ok=True)
    (where / "note.txt").write_bytes(note)
    paths = []
    for i, vkey in enumerate(vkeys):
        paths.append(where / f"key-{i}.vkey")
        paths[-1].write_text(vkey + "\n")
    return subprocess.run([str(binary), str(where / "note.txt"), *map(str, paths)], capture_output=True, text=True)


def _opened(result: subprocess.CompletedProcess[str]) -> tuple[list[str], int, str]:
    """(verified signer refs, number of signatures ignored, the note's text) from a successful run."""
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    verified = [line.removeprefix("verified ") for line in lines if line.startswith("verified ")]
    count = lines[len(verified)]
    assert count.startswith("unverified ")
    return verified, int(count.removeprefix("unverified ")), "\n".join(lines[len(verified) + 1 :])


def _ref(vkey: str) -> str:
    return "+".join(vkey.strip().split("+", 2)[:2])


def _log_vkey(client: FlaskClient, headers: dict[str, str]) -> str:
    """The log's verifier key as GET /v1/keys/signing publishes it (made with the first seal)."""
    published = client.get("/v1/keys/signing", headers=headers).get_json()["data"]
    assert len(published) == 1
    return str(published[0]["verifier_key"])


def test_the_go_reference_opens_the_appliances_checkpoints(
    note_open: Path,
    client: FlaskClient,
    keys: dict[str, str],
    make_sealed_job: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    read = auth(keys["read"])
    job = make_sealed_job()
    make_sealed_job({"b.csv": b"b"})
    log_vkey = _log_vkey(client, read)
    served = client.get("/v1/seals/checkpoint?format=text", headers=read).get_data()
    tiles = client.get("/v1/seals/log/checkpoint", headers=read).get_data()
    bundle = client.get(f"/v1/evidence/{job['id']}", headers=read).get_data()
    with tarfile.open(fileobj=io.BytesIO(bundle)) as tar:
        member = tar.extractfile("checkpoint.txt")
        assert member is not None
        in_bundle = member.read()

    for label, note in {"served": served, "tiles": tiles, "bundle": in_bundle}.items():
        verified, ignored, text = _opened(_open(note_open, note, log_vkey, where=tmp_path / label))
        assert verified == [_ref(log_vkey)] and ignored == 0, label
        assert text.encode() == note.split(b"\n\n")[0] + b"\n", label
        checkpoint = parse_checkpoint(text)
        assert checkpoint.size == 2 and checkpoint.origin == _ref(log_vkey).split("+")[0]  # key name = origin


def test_a_witnessed_checkpoint_opens_with_the_log_key_alone(
    note_open: Path,
    client: FlaskClient,
    db: Any,
    tenant: dict[str, Any],
    keys: dict[str, str],
    make_sealed_job: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    read, admin = auth(keys["read"]), auth(keys["admin"])
    operator = auth(identity.create_key(db, tenant["id"], ["operator"], allow_operator=True)["api_key"])
    make_sealed_job()
    log_vkey = _log_vkey(client, read)
    trust = tmp_path / "trust.txt"
    trust.write_text(log_vkey + "\n")
    checkpoint = tmp_path / "checkpoint.txt"
    checkpoint.write_bytes(client.get("/v1/seals/checkpoint?format=text", headers=read).get_data())
    for name in ("a", "b"):
        key = tmp_path / f"{name}.key"
        made = run_in_process("witness", "keygen", "--name", f"audit.example/{name}", "--out", key)
        assert made.returncode == 0, made.stderr
        registered = client.post("/v1/seals/witnesses", json={"verifier_key": made.stdout.strip()}, headers=operator)
        assert registered.status_code == 201, registered.get_json()
        cosigned = run_in_process(
            "witness", "cosign", checkpoint, "--key", key, "--trust", trust, "--state", tmp_path / name
        )
        assert cosigned.returncode == 0, cosigned.stderr
        sent = client.post("/v1/seals/cosignatures", json={"note": cosigned.stdout}, headers=admin)
        assert sent.status_code == 201, sent.get_json()

    witnessed = client.get("/v1/seals/checkpoint?format=text", headers=read).get_data()
    assert len(parse_note(witnessed).signatures) == 3
    verified, ignored, text = _opened(_open(note_open, witnessed, log_vkey, where=tmp_path / "witnessed"))
    assert verified == [_ref(log_vkey)] and ignored == 2
    assert text.encode() == checkpoint.read_bytes().split(b"\n\n")[0] + b"\n"


def test_the_go_reference_refuses_tampered_and_foreign_checkpoints(
    note_open: Path,
    client: FlaskClient,
    keys: dict[str, str],
    make_sealed_job: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    make_sealed_job()
    log_vkey = _log_vkey(client, auth(keys["read"]))
    note = client.get("/v1/seals/checkpoint?format=text", headers=auth(keys["read"])).get_data()
    text, _, signatures = note.partition(b"\n\n")
    lines = text.split(b"\n")
    grown = b"\n".join([lines[0], b"2", *lines[2:]]) + b"\n\n" + signatures
    refused = _open(note_open, grown, log_vkey, where=tmp_path / "size")
    assert refused.returncode == 1 and "invalid signature" in refused.stderr, refused.stderr

    checkpoint = parse_checkpoint(parse_note(note).text)
    forger = generate_signer(checkpoint.origin)  # same name, another key: its hash differs
    forged = sign_checkpoint(Checkpoint(checkpoint.origin, checkpoint.size, bytes(32)), [forger])
    refused = _open(note_open, forged, log_vkey, where=tmp_path / "forged")
    assert refused.returncode == 1 and "no verifiable signatures" in refused.stderr, refused.stderr
    assert _opened(_open(note_open, forged, forger.verifier.text, where=tmp_path / "own"))[0] == [forger.verifier.ref]
