"""The checkpoint key is named after the log's origin (tlog-checkpoint SHOULD); an appliance whose
key predates that rule keeps its ``sealforge-<id>`` key until the next rotation, and everything the
old key signed keeps verifying, including consistency from a checkpoint it signed to one the new
key signed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sealforge_verify import generate_signer, parse_note, parse_trust_file, save_signer, verify_bundle
from sealforge_verify.report import format_text

from appliance.clock import now_iso
from appliance.evidence import keys as signing
from appliance.evidence import operations, seal_log
from appliance.store import seals as seals_store
from appliance.store.db import transaction


def _legacy_key(db: Any, state_dir: Path) -> str:
    """The state an upgraded appliance starts from: an active key named the old way."""
    with transaction(db):
        head = seal_log.ensure_head(db)
        signer = generate_signer("sealforge-" + head["appliance_id"])
        folder = signing.signing_dir(state_dir / "keys")
        folder.mkdir(parents=True, exist_ok=True)
        save_signer(signer, folder / f"{signer.verifier.ref}.key")
        row = {"key_id": signer.verifier.ref, "name": signer.name, "verifier_key": signer.verifier.text}
        seals_store.insert_signing_key(db, {**row, "created_at": now_iso()})
    return signer.verifier.ref


def test_a_new_appliance_names_its_key_after_the_origin(
    db: Any, make_sealed_job: Callable[..., dict[str, Any]]
) -> None:
    make_sealed_job()
    checkpoint = operations.checkpoint_view(db)
    [key] = signing.list_public(db)
    assert key["name"] == checkpoint["origin"] and key["key_id"].startswith(checkpoint["origin"] + "+")
    assert parse_note(checkpoint["note"].encode()).signatures[0].name == checkpoint["origin"]


def test_an_old_key_keeps_signing_until_rotation_and_its_seals_keep_verifying(
    db: Any, state_dir: Path, tenant: dict[str, Any], make_sealed_job: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    legacy = _legacy_key(db, state_dir)
    first = make_sealed_job({"a.csv": b"1\n"})
    kept = operations.checkpoint_view(db)["note"].encode()  # what an auditor kept, signed by the old key
    assert f"— {legacy.split('+')[0]} " in kept.decode()
    old_bundle = tmp_path / "old.tar"
    operations.evidence_bundle(db, state_dir, tenant["id"], first["id"]).write(old_bundle)

    rotated = signing.rotate(db, state_dir / "keys")
    origin = operations.checkpoint_view(db)["origin"]
    assert rotated["retired"]["key_id"] == legacy and rotated["active"]["name"] == origin
    make_sealed_job({"b.csv": b"2\n"})
    assert f"— {origin} " in operations.checkpoint_view(db)["note"]

    trusted = parse_trust_file(signing.trust_file(db))
    assert sorted(k.name for k in trusted) == sorted([origin, legacy.split("+")[0]])
    assert verify_bundle(old_bundle, trusted).ok
    new_bundle = tmp_path / "new.tar"
    operations.evidence_bundle(db, state_dir, tenant["id"], first["id"]).write(new_bundle)
    proof = json.dumps(operations.consistency_proof(db, 1, None)).encode()
    report = verify_bundle(new_bundle, trusted, prev_checkpoint=kept, consistency_proof=proof)
    assert report.ok, format_text(report)
    assert "grew from 1 to 2" in (report.get("consistency") or report.checks[0]).detail

    only_new = [k for k in trusted if k.name == origin]
    refused = verify_bundle(new_bundle, only_new, prev_checkpoint=kept, consistency_proof=proof)
    assert [c.name for c in refused.failed] == ["trusted_key", "dsse_signature", "consistency"]
