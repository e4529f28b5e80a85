"""The seal log in-process: the frontier gives RFC 9162 roots, each append publishes a verifying
checkpoint, appends from several processes are serialised, and sealing is all-or-nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing as mp
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sealforge_verify import (
    BLAKE3,
    SHA256,
    Hasher,
    MerkleTree,
    canonical_json,
    parse_checkpoint,
    parse_note,
    parse_verifier_key,
    verify_envelope,
    verify_note,
)
from sealforge_verify.dsse import parse_envelope

from appliance.evidence import keys as signing
from appliance.evidence import seal_log
from appliance.evidence.statement import CONTRACT_SUBJECT
from appliance.store import seals as seals_store
from appliance.store.db import transaction
from appliance.store.open import open_db
from tests.evidence.conftest import sealed_job


def stored_leaf_hashes(db: Any) -> list[bytes]:
    """Every seal's own leaf hash, in log order (the record beside the tiles proofs are made from)."""
    return [bytes(r[0]) for r in db.execute("SELECT leaf_hash FROM seals ORDER BY leaf_index")]


@pytest.mark.parametrize("hasher", [SHA256, BLAKE3], ids=["sha256", "blake3"])
@pytest.mark.parametrize("count", [1, 2, 3, 7, 8, 9, 64, 100, 257])
def test_frontier_root_matches_the_reference_tree(count: int, hasher: Hasher) -> None:
    tree, frontier = MerkleTree(hasher=hasher), []
    for i in range(count):
        leaf = hasher.leaf(b"seal %d" % i)
        frontier = seal_log.push(frontier, i, leaf, hasher)
        tree.append(leaf)
        assert seal_log.fold(frontier, hasher) == tree.root()
    assert len(frontier) == bin(count).count("1")


def test_each_append_publishes_a_checkpoint_signed_by_the_active_key(
    db: Any, state_dir: Path, make_sealed_job: Callable[..., dict[str, Any]]
) -> None:
    jobs = [make_sealed_job() for _ in range(5)]
    key = parse_verifier_key(signing.list_public(db)[0]["verifier_key"])
    head = seals_store.log_head(db)
    assert head is not None and head["tree_size"] == 5 and len(head["frontier"]) == 2 * 32
    assert head["tree_hash"] == "sha256"  # a log created now is an RFC 6962 tree
    tree = MerkleTree(stored_leaf_hashes(db), SHA256)
    for size in range(1, 6):
        row = seals_store.checkpoint_at(db, size)
        assert row is not None
        note = parse_note(row["note"])
        assert verify_note(note, [key]) == [key]
        checkpoint = parse_checkpoint(note.text)
        assert checkpoint.origin == head["origin"] == "sealforge.local/seal-log/" + head["appliance_id"]
        assert (checkpoint.size, checkpoint.root_hash) == (size, tree.root(size))
    seal = seals_store.seal_of_job(db, jobs[2]["id"], jobs[2]["tenant_id"])
    assert seal is not None and seal["leaf_index"] == 2
    assert SHA256.leaf(bytes(seal["envelope"])) == bytes(seal["leaf_hash"]) == tree.leaf_hash(2)


def test_statement_names_artifacts_contract_job_and_software(
    db: Any, make_sealed_job: Callable[..., dict[str, Any]]
) -> None:
    job = make_sealed_job({"a.csv": b"1", "dir/b.json": b"{}"})
    seal = seals_store.seal_of_job(db, job["id"], job["tenant_id"])
    assert seal is not None
    envelope = parse_envelope(bytes(seal["envelope"]))
    key = parse_verifier_key(signing.list_public(db)[0]["verifier_key"])
    verify_envelope(envelope, key.public_key, keyids=(key.ref,))
    statement = json.loads(envelope.payload)
    assert [s["name"] for s in statement["subject"]] == ["a.csv", "dir/b.json"]
    predicate = statement["predicate"]
    assert predicate["contract_hash"] == job["contract_hash"] and predicate["contract"]["kind"] == "mock"
    assert predicate["job"]["id"] == job["id"] and predicate["job"]["status"] == "succeeded"
    assert predicate["job"]["attempts"] == 1 and predicate["inputs"] == []
    assert {"sealforge", "sealforge_verify", "python"} <= set(predicate["software"])
    assert predicate["log"]["origin"].startswith("sealforge.local/seal-log/")
    assert [a["name"] for a in predicate["artifacts"]] == ["a.csv", "dir/b.json"]


def test_a_job_without_artifacts_is_sealed_over_its_contract(
    db: Any, make_sealed_job: Callable[..., dict[str, Any]]
) -> None:
    job = make_sealed_job({})
    seal = seals_store.seal_of_job(db, job["id"], job["tenant_id"])
    assert seal is not None
    statement = json.loads(base64.b64decode(json.loads(bytes(seal["envelope"]))["payload"]))
    contract_sha256 = hashlib.sha256(canonical_json(json.loads(job["contract"]))).hexdigest()
    assert statement["subject"] == [
        {
            "name": CONTRACT_SUBJECT,
            "digest": {"sha256": contract_sha256},
            "annotations": {"blake3": job["contract_hash"]},
        }
    ]


def test_sealing_needs_the_callers_transaction(db: Any, state_dir: Path, tenant: dict[str, Any]) -> None:
    from appliance.evidence import seal_job

    with pytest.raises(RuntimeError, match="transaction"):
        seal_job(db, state_dir, {"id": "job_x", "tenant_id": tenant["id"]}, [])


def test_a_failed_seal_leaves_nothing(db: Any, state_dir: Path, tenant: dict[str, Any]) -> None:
    sealed_job(db, state_dir, tenant["id"])
    with pytest.raises(ValueError):  # a name that is not a safe relative path cannot be a subject
        sealed_job(db, state_dir, tenant["id"], {"x/../y": b"1"})
    assert seals_store.log_head(db)["tree_size"] == 1  # type: ignore[index]
    assert db.execute("SELECT count(*) FROM seals").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM checkpoints").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM jobs").fetchone()[0] == 1


def _seal_many(state_dir: str, tenant_id: str, count: int) -> None:
    """``count`` seals of jobs without artifacts: what races is the log's append, not blob writes."""
    path = Path(state_dir)
    conn = open_db(path)
    for _ in range(count):
        sealed_job(conn, path, tenant_id, {})


def test_appends_from_several_processes_are_serialised(db: Any, state_dir: Path, tenant: dict[str, Any]) -> None:
    with transaction(db):
        signing.active_signer(db, state_dir / "keys")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_seal_many, args=(str(state_dir), tenant["id"], 25)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    indexes = [r[0] for r in db.execute("SELECT leaf_index FROM seals ORDER BY leaf_index")]
    assert indexes == list(range(75))
    head = seals_store.log_head(db)
    assert head is not None and head["tree_size"] == 75
    assert bytes(head["root"]) == MerkleTree(stored_leaf_hashes(db), SHA256).root()
    assert seal_log.tree(db, 75).root() == bytes(head["root"])
