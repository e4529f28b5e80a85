"""The tree hash is declared: new logs are RFC 6962/9162 SHA-256 trees whose proofs an independent
RFC 9162 implementation accepts; logs created with BLAKE3 keep BLAKE3, say so in their
checkpoints, and keep verifying, bundles signed before the declaration existed included."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sealforge_verify import BLAKE3, SHA256, MerkleTree, build_bundle, generate_signer, seal_statement, verify_bundle
from sealforge_verify.merkle import TREE_HASH_EXTENSION
from sealforge_verify.note import Checkpoint, parse_checkpoint, parse_note, sign_checkpoint
from sealforge_verify.statement import build_statement

from appliance.evidence import keys as signing
from appliance.evidence import operations, seal_log
from appliance.store.db import transaction
from appliance.store.migrations import m0015_seal_tiles
from tests.conftest import auth
from tests.evidence import rfc9162_reference as rfc
from tests.evidence.conftest import fetch
from tests.offline_verify.conftest import find_testdata_dir


def _vectors(kind: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((find_testdata_dir() / "rfc9162" / kind).rglob("*.json"))]


def _b64s(items: list[str] | None) -> list[bytes]:
    return [base64.b64decode(x) for x in items or []]


def test_the_reference_checker_gives_every_rfc9162_vector_its_answer() -> None:
    """The independent checker is itself right: every shared vector gives its ``wantErr``."""
    inclusion, consistency = _vectors("inclusion"), _vectors("consistency")
    assert len(inclusion) >= 90 and len(consistency) >= 90
    for v in inclusion:
        ok = rfc.inclusion_ok(
            v["leafIdx"], v["treeSize"], base64.b64decode(v["leafHash"]), _b64s(v["proof"]), base64.b64decode(v["root"])
        )
        assert ok is not v["wantErr"], v["desc"]
    for v in consistency:
        ok = rfc.consistency_ok(
            v["size1"], v["size2"], _b64s(v["proof"]), base64.b64decode(v["root1"]), base64.b64decode(v["root2"])
        )
        assert ok is not v["wantErr"], v["desc"]


def test_appliance_proofs_verify_with_an_independent_rfc9162_checker(
    client: FlaskClient, db: Any, keys: dict[str, str], make_sealed_job: Callable[..., dict[str, Any]]
) -> None:
    jobs = [make_sealed_job({f"part-{i}.csv": b"%d" % i}) for i in range(7)]
    headers = auth(keys["read"])
    notes = {}
    for size in range(1, 8):
        row = db.execute("SELECT note FROM checkpoints WHERE tree_size = ?", (size,)).fetchone()
        notes[size] = parse_checkpoint(parse_note(row[0]).text)
        assert notes[size].extensions == ()  # SHA-256: a plain C2SP checkpoint
    assert operations.checkpoint_view(db)["tree_hash"] == "sha256"
    for old in range(1, 8):
        for new in range(old, 8):
            proof = client.get(f"/v1/seals/proof/consistency?from={old}&to={new}", headers=headers).get_json()
            assert proof["hash"] == "sha256"
            assert rfc.consistency_ok(old, new, _b64s(proof["hashes"]), notes[old].root_hash, notes[new].root_hash), (
                old,
                new,
            )
    for job in jobs:
        evidence = operations.job_evidence(db, job["tenant_id"], job["id"])
        envelope = db.execute("SELECT envelope FROM seals WHERE job_id = ?", (job["id"],)).fetchone()[0]
        inclusion = evidence["inclusion"]
        assert inclusion["hash"] == "sha256" and inclusion["tree_size"] == 7
        leaf = rfc.leaf(bytes(envelope))
        assert rfc.inclusion_ok(inclusion["leaf_index"], 7, leaf, _b64s(inclusion["hashes"]), notes[7].root_hash)


def test_a_blake3_log_keeps_blake3_and_declares_it(
    client: FlaskClient,
    db: Any,
    state_dir: Path,
    keys: dict[str, str],
    tmp_path: Path,
    make_sealed_job: Callable[..., dict[str, Any]],
) -> None:
    with transaction(db):
        seal_log.ensure_head(db, BLAKE3)  # as a log created before issue #18 was
    jobs = [make_sealed_job() for _ in range(3)]
    headers = auth(keys["read"])
    checkpoint = client.get("/v1/seals/checkpoint", headers=headers).get_json()
    assert checkpoint["tree_hash"] == "blake3"
    assert parse_checkpoint(parse_note(checkpoint["note"]).text).extensions == (TREE_HASH_EXTENSION + "blake3",)
    seal = db.execute("SELECT envelope, leaf_hash FROM seals WHERE job_id = ?", (jobs[0]["id"],)).fetchone()
    assert BLAKE3.leaf(bytes(seal[0])) == bytes(seal[1])
    first = db.execute("SELECT note FROM checkpoints WHERE tree_size = 1").fetchone()[0]
    bundle = fetch(client, f"/v1/evidence/{jobs[0]['id']}?prev_size=1", headers, tmp_path / "old.tar")
    report = verify_bundle(bundle, signing.trusted_verifiers(db), prev_checkpoint=first.encode())
    failed = [c for c in report.checks if c.status == "fail"]
    assert not failed, failed
    assert "blake3 tree" in next(c for c in report.checks if c.name == "inclusion_proof").detail
    consistency = client.get("/v1/seals/proof/consistency?from=1", headers=headers).get_json()
    assert consistency["hash"] == "blake3"


def _legacy_bundle(tmp_path: Path, forged: bool = False) -> tuple[Path, Any]:
    """A bundle exactly as the code before issue #18 wrote it: a BLAKE3 tree and a checkpoint with
    no extension line. ``forged``: a SHA-256 proof against a checkpoint that declares BLAKE3."""
    signer = generate_signer("sealforge.local/seal-log/legacy01")
    statement = build_statement({"a.csv": {"blake3": "0" * 64}}, {"job": {"id": "job_legacy"}})
    envelope = seal_statement(statement, signer)
    tree = MerkleTree([BLAKE3.leaf(b"earlier"), BLAKE3.leaf(envelope), BLAKE3.leaf(b"later")], BLAKE3)
    note = sign_checkpoint(Checkpoint("sealforge.local/seal-log/legacy01", 3, tree.root()), [signer])
    path = tmp_path / "legacy.tar"
    build_bundle(path, envelope=envelope, tree=tree, leaf_index=1, checkpoint=note, signer=signer)
    if forged:
        other = MerkleTree([SHA256.leaf(b"earlier"), SHA256.leaf(envelope), SHA256.leaf(b"later")], SHA256)
        note = sign_checkpoint(
            Checkpoint("sealforge.local/seal-log/legacy01", 3, tree.root(), (TREE_HASH_EXTENSION + "blake3",)), [signer]
        )
        build_bundle(path, envelope=envelope, tree=other, leaf_index=1, checkpoint=note, signer=signer)
    return path, signer


def test_a_bundle_from_before_the_declaration_still_verifies(tmp_path: Path) -> None:
    path, signer = _legacy_bundle(tmp_path)
    report = verify_bundle(path, [signer.verifier])
    assert next(c for c in report.checks if c.name == "inclusion_proof").status == "pass"
    assert next(c for c in report.checks if c.name == "checkpoint_signature").status == "pass"


def test_a_proof_whose_hash_contradicts_the_signed_checkpoint_fails(tmp_path: Path) -> None:
    path, signer = _legacy_bundle(tmp_path, forged=True)
    check = next(c for c in verify_bundle(path, [signer.verifier]).checks if c.name == "inclusion_proof")
    assert check.status == "fail" and "the signed checkpoint says blake3" in check.detail


@pytest.mark.parametrize("count", [3, 260])
def test_the_migration_builds_the_tiles_an_existing_log_would_have(
    db: Any, make_sealed_job: Callable[..., dict[str, Any]], count: int
) -> None:
    """Tiles of a log sealed before m0015 are built from its leaf hashes, equal to the rows the
    append path writes, and give the signed root."""
    with transaction(db):
        seal_log.ensure_head(db, BLAKE3)
    for _ in range(count):
        make_sealed_job({})
    written = db.execute("SELECT level, idx, hashes FROM seal_tiles ORDER BY level, idx").fetchall()
    with transaction(db):
        db.execute("DELETE FROM seal_tiles")
        m0015_seal_tiles._backfill(db)
    assert db.execute("SELECT level, idx, hashes FROM seal_tiles ORDER BY level, idx").fetchall() == written
    assert len(written) == (1 if count < 256 else 3)
    assert seal_log.tree(db, count).root() == bytes(seal_log.require_checkpoint(db)["root"])


def test_a_log_from_before_the_migration_keeps_verifying(
    client: FlaskClient,
    db: Any,
    state_dir: Path,
    keys: dict[str, str],
    tmp_path: Path,
    make_sealed_job: Callable[..., dict[str, Any]],
) -> None:
    """The state an upgraded appliance starts from: a BLAKE3 log whose checkpoints have no
    extension line, no ``tree_hash`` column and no tiles. m0015 declares it BLAKE3 and builds its
    tiles; its old checkpoints, new ones and the proofs between them all verify."""
    with transaction(db):
        seal_log.ensure_head(db, BLAKE3)
    jobs = [make_sealed_job() for _ in range(5)]
    with transaction(db):
        _row, signer = signing.active_signer(db, state_dir / "keys")
        origin = seal_log.ensure_head(db)["origin"]
        for size, root in db.execute("SELECT tree_size, root FROM checkpoints").fetchall():
            old_style = sign_checkpoint(Checkpoint(origin, size, bytes(root)), [signer]).decode()
            db.execute("UPDATE checkpoints SET note = ? WHERE tree_size = ?", (old_style, size))
        db.execute("DROP TABLE seal_tiles")
        db.execute("ALTER TABLE seal_log DROP COLUMN tree_hash")
    with transaction(db):
        m0015_seal_tiles.up(db)
    assert seal_log.ensure_head(db)["tree_hash"] == "blake3"
    kept = db.execute("SELECT note FROM checkpoints WHERE tree_size = 2").fetchone()[0]
    assert parse_checkpoint(parse_note(kept).text).extensions == ()
    make_sealed_job()  # sealed after the upgrade: a checkpoint that declares blake3
    headers = auth(keys["read"])
    bundle = fetch(client, f"/v1/evidence/{jobs[0]['id']}?prev_size=2", headers, tmp_path / "upgraded.tar")
    report = verify_bundle(bundle, signing.trusted_verifiers(db), prev_checkpoint=kept.encode())
    assert [c for c in report.checks if c.status == "fail"] == []
    assert next(c for c in report.checks if c.name == "consistency").status == "pass"
    proof = client.get("/v1/seals/proof/consistency?from=2&to=6", headers=headers).get_json()
    assert proof["hash"] == "blake3" and len(proof["hashes"]) >= 1
