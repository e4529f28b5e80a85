"""The offline witness and the ``witnesses`` check: C2SP tlog-cosignature/v1 checked against the
spec by hand (``cryptography`` directly, not the package's code), a witness that cosigns only a
log that grew consistently, and bundles that need N cosignatures."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import stat
import struct
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sealforge_verify.cosignature import (
    WitnessSigner,
    cosignature_line,
    cosignatures_of,
    parse_witness_key,
    parse_witness_keys,
    parse_witness_signer,
)
from sealforge_verify.keys import generate_signer
from sealforge_verify.merkle import MerkleTree
from sealforge_verify.note import NoteError, parse_note
from sealforge_verify.proofs import ConsistencyProof
from sealforge_verify.sealing import build_bundle, log_leaf_hash, make_checkpoint, seal_statement
from sealforge_verify.statement import build_statement
from sealforge_verify.verify import verify_bundle
from sealforge_verify.witness import STATE_FORMAT, StateError, WitnessRefusal, load_state, witness

from tests.offline_verify.conftest import ORIGIN, BundleFactory

NOW = 1_767_225_600


def test_a_published_witness_vkey_parses_and_its_key_id_matches() -> None:
    """A real witness's key (remora.n621.de, from transparency-dev/formats' tests): the key id
    is SHA-256(name ‖ 0x0A ‖ 0x04 ‖ key)[:4], which the parser recomputes."""
    key = parse_witness_key("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
    assert key.key_id.hex() == "da77ade7"
    raw = base64.b64decode("BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
    assert hashlib.sha256(b"remora.n621.de\n" + raw).digest()[:4] == key.key_id
    for bad in (
        "remora.n621.de+00000000+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",  # wrong key id
        "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6",  # a plain 0x01 note key
        "rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!",
        "no-plus-signs",
    ):
        with pytest.raises(NoteError):
            parse_witness_key(bad)


def test_a_cosignature_is_ed25519_over_the_spec_message() -> None:
    """Checked without the package: decode the line, rebuild ``cosignature/v1\\ntime T\\n`` + body
    and verify with cryptography's Ed25519."""
    signer = WitnessSigner.generate("witness.example/w1")
    body = f"{ORIGIN}\n7\n{base64.b64encode(bytes(range(32))).decode()}\n"
    line = cosignature_line(signer, body, NOW)
    dash, name, b64 = line.rstrip("\n").split(" ")
    assert dash == "\u2014" and name == "witness.example/w1"
    raw = base64.b64decode(b64)
    public = signer.verifier.raw_public
    assert raw[:4] == hashlib.sha256(b"witness.example/w1\n\x04" + public).digest()[:4]
    assert struct.unpack(">Q", raw[4:12]) == (NOW,)
    message = f"cosignature/v1\ntime {NOW}\n".encode() + body.encode()
    Ed25519PublicKey.from_public_bytes(public).verify(raw[12:], message)  # raises if wrong
    assert len(raw) == 4 + 8 + 64


def test_keys_round_trip_and_a_go_note_key_is_accepted() -> None:
    signer = WitnessSigner.generate("w.example/a")
    again = parse_witness_signer(signer.text)
    assert again.verifier == signer.verifier
    assert parse_witness_key(signer.verifier.text) == signer.verifier
    parts = signer.text.split("+", 4)
    assert parts[3] == signer.verifier.key_id.hex()
    seed = base64.b64decode(parts[4])[1:]
    go_style = "PRIVATE+KEY+w.example/a+01234567+" + base64.b64encode(b"\x01" + seed).decode()
    assert parse_witness_signer(go_style).verifier == signer.verifier
    with pytest.raises(NoteError):
        parse_witness_signer(signer.text.replace(signer.verifier.key_id.hex(), "00000000"))
    with pytest.raises(NoteError, match="line 3"):
        parse_witness_keys(f"# a comment\n{signer.verifier.text} # trailing\ngarbage\n")


class Log:
    """A log the test controls: a tree, its signer, and checkpoints as the appliance signs them."""

    def __init__(self, factory: BundleFactory) -> None:
        self.factory = factory
        self.tree = MerkleTree()
        factory.filler(self.tree, 3)

    def grow(self, n: int, tag: str = "leaf") -> None:
        self.factory.filler(self.tree, n, tag)

    def checkpoint(self) -> bytes:
        return make_checkpoint(ORIGIN, self.tree, self.factory.signer)

    def proof(self, old: int, new: int | None = None) -> bytes:
        new = len(self.tree) if new is None else new
        return ConsistencyProof(old, new, tuple(self.tree.consistency_proof(old, new)), "blake3").to_json_bytes()


@pytest.fixture
def log(factory: BundleFactory) -> Log:
    return Log(factory)


def test_the_witness_cosigns_only_a_log_that_grew_consistently(log: Log, tmp_path: Path) -> None:
    signer = WitnessSigner.generate("w.example/a")
    keys = [log.factory.signer.verifier]
    state = tmp_path / "state.json"
    first = witness(log.checkpoint(), keys, signer, state, None, NOW)
    assert "trusted on first use" in first.relation
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert json.loads(state.read_text())["format"] == STATE_FORMAT
    good, bad = cosignatures_of(parse_note(first.note), [signer.verifier])
    assert [c.timestamp for c in good] == [NOW] and not bad
    assert first.note.endswith(first.line)

    log.grow(5)
    with pytest.raises(WitnessRefusal, match=r"proof/consistency\?from=3&to=8"):
        witness(log.checkpoint(), keys, signer, state, None, NOW + 1)
    with pytest.raises(WitnessRefusal, match="from size 4 to 8"):
        witness(log.checkpoint(), keys, signer, state, log.proof(4), NOW + 1)
    with pytest.raises(WitnessRefusal, match="malformed"):
        witness(log.checkpoint(), keys, signer, state, b"{not json", NOW + 1)
    grown = witness(log.checkpoint(), keys, signer, state, log.proof(3), NOW + 2)
    assert "grew from 3 to 8" in grown.relation
    assert load_state(state)[ORIGIN].size == 8 and load_state(state)[ORIGIN].hash == "blake3"

    log.grow(2)
    other_hash = ConsistencyProof(8, 10, tuple(log.tree.consistency_proof(8, 10)), "sha256").to_json_bytes()
    with pytest.raises(WitnessRefusal, match="uses sha256, but this log's tree hash is blake3"):
        witness(log.checkpoint(), keys, signer, state, other_hash, NOW + 3)
    again = witness(grown.note.encode(), keys, signer, state, None, NOW + 3)
    assert "same size 8" in again.relation
    assert len(parse_note(again.note).signatures) == 2, "its own older cosignature is replaced, not repeated"


def test_the_witness_refuses_a_fork_a_rollback_and_a_bad_log_signature(
    log: Log, factory: BundleFactory, tmp_path: Path
) -> None:
    signer = WitnessSigner.generate("w.example/a")
    keys = [log.factory.signer.verifier]
    state = tmp_path / "state.json"
    witness(log.checkpoint(), keys, signer, state, None, NOW)
    fork = MerkleTree([log.tree.leaf_hash(i) for i in range(2)])
    factory.filler(fork, 1, "forked")
    forked = make_checkpoint(ORIGIN, fork, factory.signer)
    before = state.read_bytes()
    with pytest.raises(WitnessRefusal, match=r"LOG FORKED: .* at size 3"):
        witness(forked, keys, signer, state, None, NOW + 1)

    factory.filler(fork, 4, "forked")
    log.grow(4)
    fork_proof = ConsistencyProof(3, 7, tuple(fork.consistency_proof(3, 7)), "blake3").to_json_bytes()
    with pytest.raises(WitnessRefusal, match="NOT CONSISTENT"):
        witness(make_checkpoint(ORIGIN, fork, factory.signer), keys, signer, state, fork_proof, NOW + 1)

    small = MerkleTree([log.tree.leaf_hash(i) for i in range(2)])
    with pytest.raises(WitnessRefusal, match="ROLLBACK"):
        witness(make_checkpoint(ORIGIN, small, factory.signer), keys, signer, state, None, NOW + 1)
    impostor = make_checkpoint(ORIGIN, log.tree, generate_signer("sealforge-test"))
    with pytest.raises(WitnessRefusal, match="log signature does not verify"):
        witness(impostor, keys, signer, state, log.proof(3), NOW + 1)
    with pytest.raises(WitnessRefusal, match="malformed"):
        witness(b"\xff garbage", keys, signer, state, None, NOW + 1)
    assert state.read_bytes() == before, "a refusal leaves the state as it was"

    state.write_text('{"format": "something else"}')
    with pytest.raises(StateError):
        witness(log.checkpoint(), keys, signer, state, None, NOW + 1)


def _bundle(factory: BundleFactory, log: Log, path: Path) -> Path:
    """A bundle whose leaf is appended to ``log`` now, with the log's checkpoint (no cosignature)."""
    envelope = seal_statement(build_statement({"a.csv": {"blake3": "00" * 32}}, {"job": {"id": "j"}}), factory.signer)
    index = log.tree.append(log_leaf_hash(envelope))
    build_bundle(
        path, envelope=envelope, tree=log.tree, leaf_index=index, checkpoint=log.checkpoint(), signer=factory.signer
    )
    return path


def _swap_checkpoint(src: Path, dst: Path, note: bytes) -> Path:
    """A copy of the bundle ``src`` whose checkpoint.txt is ``note`` (the same one, cosigned)."""
    with tarfile.open(src) as old, tarfile.open(dst, "w") as new:
        for member in old.getmembers():
            reader = old.extractfile(member)
            assert reader is not None
            data = note if member.name == "checkpoint.txt" else reader.read()
            member.size = len(data)
            new.addfile(member, io.BytesIO(data))
    return dst


def test_the_cli_witnesses_and_the_verifier_counts_cosignatures(  # type: ignore[no-untyped-def]
    log: Log, factory: BundleFactory, tmp_path: Path, cli
) -> None:
    vkeys = []
    for name in ("a", "b"):
        made = cli("witness", "keygen", "--name", f"w.example/{name}", "--out", tmp_path / f"{name}.key")
        assert made.returncode == 0, made.stderr
        assert stat.S_IMODE((tmp_path / f"{name}.key").stat().st_mode) == 0o600
        (tmp_path / f"{name}.vkey").write_text(made.stdout)
        vkeys.append(tmp_path / f"{name}.vkey")
    again = cli("witness", "keygen", "--name", "w.example/a", "--out", tmp_path / "a.key")
    assert again.returncode == 2 and "already exists" in again.stderr

    # the bundle's leaf is appended first, so the checkpoint the witnesses cosign covers it
    bundle_path = _bundle(factory, log, tmp_path / "plain.tar")
    note = tmp_path / "checkpoint.txt"
    note.write_bytes(log.checkpoint())
    for name in ("a", "b"):
        done = cli(
            "witness", "cosign", note, "--key", tmp_path / f"{name}.key", "--trust", factory.trust,
            "--state", tmp_path / f"{name}.state", "--out", note,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "trusted on first use" in done.stderr
    cosigned = note.read_bytes()
    assert len(parse_note(cosigned).signatures) == 3
    report = verify_bundle(bundle_path, [factory.signer.verifier])
    assert report.ok and report.get("witnesses") is None, "no --witness: no witnesses check"
    with_cosigs = _swap_checkpoint(bundle_path, tmp_path / "cosigned.tar", cosigned)
    both = ("--witness", vkeys[0], "--witness", vkeys[1])
    ok = cli(with_cosigs, "--trust", factory.trust, *both, "--min-witnesses", "2")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASS  witnesses" in ok.stdout and "2 of the 2 given witness(es)" in ok.stdout
    assert cli(with_cosigs, "--trust", factory.trust, *both).returncode == 0
    three = cli(with_cosigs, "--trust", factory.trust, *both, "--min-witnesses", "3")
    assert three.returncode == 1 and "NOT ENOUGH WITNESSES" in three.stdout and "3 required" in three.stdout
    plain = cli(bundle_path, "--trust", factory.trust, *both, "--min-witnesses", "1")
    assert plain.returncode == 1 and "no valid cosignature from w.example/a+" in plain.stdout

    garbage = tmp_path / "garbage.vkey"
    garbage.write_text("not a key\n")
    bad = cli(with_cosigs, "--trust", factory.trust, "--witness", garbage)
    assert bad.returncode == 2 and "--witness" in bad.stderr
    alone = cli(with_cosigs, "--trust", factory.trust, "--min-witnesses", "1")
    assert alone.returncode == 2 and "at least one --witness" in alone.stderr
    log_key_as_witness = cli(with_cosigs, "--trust", factory.trust, "--witness", factory.trust)
    assert log_key_as_witness.returncode == 2


def test_the_cli_refuses_a_fork_with_exit_1(  # type: ignore[no-untyped-def]
    log: Log, factory: BundleFactory, tmp_path: Path, cli
) -> None:
    assert cli("witness", "keygen", "--name", "w", "--out", tmp_path / "w.key").returncode == 0
    args = ("--key", tmp_path / "w.key", "--trust", factory.trust, "--state", tmp_path / "w.state")
    first = tmp_path / "first.txt"
    first.write_bytes(log.checkpoint())
    line = cli("witness", "cosign", first, *args, "--line-only")
    assert line.returncode == 0 and line.stdout.startswith("\u2014 w ") and line.stdout.count("\n") == 1
    fork = MerkleTree([log.tree.leaf_hash(0)])
    factory.filler(fork, 2, "forked")
    forked = tmp_path / "forked.txt"
    forked.write_bytes(make_checkpoint(ORIGIN, fork, factory.signer))
    refused = cli("witness", "cosign", forked, *args)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "REFUSED to cosign: LOG FORKED" in refused.stderr
    assert cli("witness", "cosign", tmp_path / "missing.txt", *args).returncode == 2
    assert cli("witness", "frobnicate").returncode == 2
    assert cli("witness", "vkey", "--key", tmp_path / "w.key").stdout.startswith("w+")
