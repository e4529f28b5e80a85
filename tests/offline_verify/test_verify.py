"""In-process verification: every check, key rotation, foreign keys, tampering, consistency."""

from __future__ import annotations

import base64
import io
import json
import random
import tarfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sealforge_verify.bundle import Bundle, BundleFormatError, read_bundle, write_members
from sealforge_verify.encoding import canonical_json
from sealforge_verify.keys import generate_signer
from sealforge_verify.merkle import MerkleTree
from sealforge_verify.note import VerifierKey
from sealforge_verify.proofs import ConsistencyProof
from sealforge_verify.report import Report, format_text
from sealforge_verify.sealing import make_checkpoint
from sealforge_verify.verify import verify_bundle

CHECKS = [
    "bundle_format",
    "trusted_key",
    "dsse_signature",
    "statement_shape",
    "artifact_digest:report/summary.json",
    "artifact_digest:rows.csv",
    "inclusion_proof",
    "checkpoint_signature",
    "consistency",
]


def _status(report: Report) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


def test_good_bundle_passes_every_check(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    report = verify_bundle(sealed.bundle, [sealed.signer.verifier])
    assert [c.name for c in report.checks] == CHECKS
    assert _status(report) == {**dict.fromkeys(CHECKS, "pass"), "consistency": "skip"}
    assert report.ok
    text = format_text(report)
    assert "VERIFIED" in text and "PASS  inclusion_proof" in text
    assert json.loads(json.dumps(report.to_dict()))["ok"] is True


def test_artifacts_from_a_directory_or_skipped(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build(embed=False)
    trusted = [sealed.signer.verifier]
    skipped = verify_bundle(sealed.bundle, trusted)
    assert skipped.ok
    assert _status(skipped)["artifact_digest:rows.csv"] == "skip"
    assert "2 artifact(s) NOT checked" in skipped.summary()
    checked = verify_bundle(sealed.bundle, trusted, artifacts_dir=sealed.artifacts_dir)
    assert _status(checked)["artifact_digest:rows.csv"] == "pass"
    (sealed.artifacts_dir / "rows.csv").write_bytes(b"a,b\n1,2\n3,5\n")
    bad = verify_bundle(sealed.bundle, trusted, artifacts_dir=sealed.artifacts_dir)
    assert not bad.ok
    assert [c.name for c in bad.failed] == ["artifact_digest:rows.csv"]
    assert "MISMATCH" in bad.failed[0].detail


def test_embedded_and_directory_copies_are_both_checked(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    (sealed.artifacts_dir / "report" / "summary.json").write_bytes(b"{}")
    report = verify_bundle(sealed.bundle, [sealed.signer.verifier], artifacts_dir=sealed.artifacts_dir)
    assert [c.name for c in report.failed] == ["artifact_digest:report/summary.json"]


def test_key_rotation_trusts_old_and_new(factory) -> None:  # type: ignore[no-untyped-def]
    old = factory.signer
    new = generate_signer("sealforge-test")
    tree = MerkleTree()
    first = factory.build(tree=tree)
    second = factory.build(tree=tree, signer=new)
    both = [old.verifier, new.verifier]
    assert verify_bundle(first.bundle, both).ok
    assert verify_bundle(second.bundle, both).ok
    assert not verify_bundle(second.bundle, [old.verifier]).ok


def test_foreign_key_fails(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build(signer=generate_signer("intruder"))
    report = verify_bundle(sealed.bundle, [factory.signer.verifier])
    failed = {c.name for c in report.failed}
    assert {"trusted_key", "dsse_signature", "checkpoint_signature"} <= failed
    assert "NOT in the trust file" in report.failed[0].detail


def test_key_id_pointing_at_another_trusted_key_fails(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    other = generate_signer("other")
    members = sealed.members()
    members["key_id.txt"] = other.verifier.ref.encode() + b"\n"
    report = verify_bundle(Bundle.from_members(members), [sealed.signer.verifier, other.verifier])
    assert [c.name for c in report.failed] == ["dsse_signature"]


def test_unlisted_artifact_fails_bundle_format(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    members = {**sealed.members(), "artifacts/extra.bin": b"smuggled"}
    report = verify_bundle(Bundle.from_members(members), [sealed.signer.verifier])
    assert [c.name for c in report.failed] == ["bundle_format"]


def _flip_positions(data: bytes, rng: random.Random) -> list[tuple[int, int]]:
    """Every byte position, with mask 0x01 and with one random non-zero mask."""
    return [(pos, mask) for pos in range(len(data)) for mask in (0x01, rng.randrange(1, 256))]


def test_every_byte_flip_in_every_member_is_detected(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    members = sealed.members()
    trusted: list[VerifierKey] = [sealed.signer.verifier]
    assert verify_bundle(Bundle.from_members(members), trusted).ok
    expected = {
        "envelope.json": "inclusion_proof",
        "inclusion.json": "inclusion_proof",
        "checkpoint.txt": "checkpoint_signature",
        "key_id.txt": "trusted_key",
        "artifacts/rows.csv": "artifact_digest:rows.csv",
        "artifacts/report/summary.json": "artifact_digest:report/summary.json",
    }
    rng = random.Random(9162)
    tried = 0
    for member, check in expected.items():
        data = members[member]
        for pos, mask in _flip_positions(data, rng):
            tampered = bytearray(data)
            tampered[pos] ^= mask
            report = verify_bundle(Bundle.from_members({**members, member: bytes(tampered)}), trusted)
            failed = {c.name for c in report.failed}
            assert not report.ok and check in failed, (member, pos, mask, failed)
            tried += 1
    assert tried > 1000


def test_every_byte_flip_in_the_statement_payload_is_detected(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    members = sealed.members()
    trusted = [sealed.signer.verifier]
    envelope = json.loads(members["envelope.json"])
    payload = base64.b64decode(envelope["payload"])
    for pos, mask in _flip_positions(payload, random.Random(7)):
        tampered = bytearray(payload)
        tampered[pos] ^= mask
        forged = {**envelope, "payload": base64.b64encode(bytes(tampered)).decode()}
        report = verify_bundle(Bundle.from_members({**members, "envelope.json": canonical_json(forged)}), trusted)
        failed = {c.name for c in report.failed}
        assert {"dsse_signature", "inclusion_proof"} <= failed, (pos, mask, failed)


def test_re_signed_statement_is_caught_by_the_log(factory) -> None:  # type: ignore[no-untyped-def]
    """A thief of the signing key can re-sign a changed statement, but not rewrite the log."""
    from sealforge_verify.sealing import seal_statement

    sealed = factory.build()
    statement = json.loads(json.dumps(sealed.statement))
    statement["predicate"]["job"]["id"] = "job_forged"
    members = {**sealed.members(), "envelope.json": seal_statement(statement, sealed.signer)}
    report = verify_bundle(Bundle.from_members(members), [sealed.signer.verifier])
    assert [c.name for c in report.failed] == ["inclusion_proof"]


def test_any_flip_in_the_tar_is_rejected_or_harmless(factory) -> None:  # type: ignore[no-untyped-def]
    """A flip anywhere in the tar gives a format error, a failed check, or unchanged members.

    Flips in tar padding or header fields such as mtime change no member, so they may pass.
    """
    sealed = factory.build()
    original = sealed.bundle.read_bytes()
    members = sealed.members()
    used = len(original.rstrip(b"\0"))

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(position=st.integers(0, used - 1), mask=st.integers(1, 255))
    def flip(position: int, mask: int) -> None:
        data = bytearray(original)
        data[position] ^= mask
        try:
            with read_bundle(io.BytesIO(bytes(data))) as bundle:
                if verify_bundle(bundle, [sealed.signer.verifier]).ok:
                    seen = dict(bundle.members)
                    for name in bundle.artifacts:
                        seen["artifacts/" + name] = bundle.open_artifact(name).read()
                    assert seen == members
        except BundleFormatError:
            pass

    flip()


def _checkpoint_at(tree: MerkleTree, size: int, signer) -> bytes:  # type: ignore[no-untyped-def]
    return make_checkpoint("sealforge.test/seal-log", tree, signer, size)


def test_consistency_after_a_thousand_appends(factory) -> None:  # type: ignore[no-untyped-def]
    tree = MerkleTree()
    factory.filler(tree, 37)
    kept = _checkpoint_at(tree, 37, factory.signer)
    factory.filler(tree, 1000)
    sealed = factory.build(tree=tree, consistency_from=37)
    trusted = [factory.signer.verifier]
    report = verify_bundle(sealed.bundle, trusted, prev_checkpoint=kept)
    assert report.ok, format_text(report)
    consistency = report.get("consistency")
    assert consistency is not None and "grew from 37 to 1042" in consistency.detail


def test_forked_log_fails_consistency(factory) -> None:  # type: ignore[no-untyped-def]
    honest = MerkleTree()
    factory.filler(honest, 37)
    kept = _checkpoint_at(honest, 37, factory.signer)
    forked = MerkleTree()
    factory.filler(forked, 5)
    forked.append_data(b"rewritten history")
    factory.filler(forked, 31)
    assert forked.leaf_hash(6) == honest.leaf_hash(6) and forked.root(37) != honest.root(37)
    factory.filler(forked, 1000)
    sealed = factory.build(tree=forked, consistency_from=37)
    report = verify_bundle(sealed.bundle, [factory.signer.verifier], prev_checkpoint=kept)
    assert [c.name for c in report.failed] == ["consistency"]
    assert "NOT consistent" in report.failed[0].detail


def test_consistency_proof_from_the_api_and_missing_proof(factory) -> None:  # type: ignore[no-untyped-def]
    tree = MerkleTree()
    factory.filler(tree, 10)
    kept = _checkpoint_at(tree, 10, factory.signer)
    sealed = factory.build(tree=tree, consistency_from=3)
    trusted = [factory.signer.verifier]
    missing = verify_bundle(sealed.bundle, trusted, prev_checkpoint=kept)
    detail = missing.failed[0].detail
    assert missing.failed[0].name == "consistency"
    assert "from size 3" in detail and "/v1/seals/proof/consistency?from=10&to=15" in detail
    proof = ConsistencyProof(10, len(tree), tuple(tree.consistency_proof(10)))
    given_proof = verify_bundle(sealed.bundle, trusted, prev_checkpoint=kept, consistency_proof=proof.to_json_bytes())
    assert given_proof.ok
    garbage = verify_bundle(sealed.bundle, trusted, prev_checkpoint=kept, consistency_proof=b"{nope")
    assert "malformed" in garbage.failed[0].detail


def test_consistency_edge_cases(factory) -> None:  # type: ignore[no-untyped-def]
    tree = MerkleTree()
    sealed = factory.build(tree=tree)
    trusted = [factory.signer.verifier]
    same = verify_bundle(sealed.bundle, trusted, prev_checkpoint=sealed.checkpoint)
    assert same.ok
    factory.filler(tree, 3)
    ahead = verify_bundle(sealed.bundle, trusted, prev_checkpoint=_checkpoint_at(tree, len(tree), factory.signer))
    assert "/v1/seals/proof/consistency?from=5&to=8" in ahead.failed[0].detail
    stranger = verify_bundle(
        sealed.bundle, trusted, prev_checkpoint=_checkpoint_at(tree, 2, generate_signer("sealforge-test"))
    )
    assert "kept checkpoint" in stranger.failed[0].detail
    empty = verify_bundle(sealed.bundle, trusted, prev_checkpoint=_checkpoint_at(tree, 0, factory.signer))
    assert "empty log" in empty.failed[0].detail
    other_log = make_checkpoint("another/log", tree, factory.signer, 2)
    assert "log 'another/log'" in verify_bundle(sealed.bundle, trusted, prev_checkpoint=other_log).failed[0].detail


def test_missing_member_raises_format_error(tmp_path: Path, factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    members = sealed.members()
    del members["inclusion.json"]
    write_members(tmp_path / "m.tar", members)
    try:
        verify_bundle(tmp_path / "m.tar", [sealed.signer.verifier])
    except BundleFormatError as exc:
        assert "inclusion.json" in str(exc)
    else:
        raise AssertionError("expected BundleFormatError")
    with tarfile.open(sealed.bundle) as tf:
        assert "envelope.json" in tf.getnames()


def test_a_newer_kept_checkpoint_needs_a_proof_from_the_bundles_size(factory) -> None:  # type: ignore[no-untyped-def]
    tree = MerkleTree()
    sealed = factory.build(tree=tree, before=3, after=0)  # bundle at size 4
    factory.filler(tree, 60)
    kept = _checkpoint_at(tree, 64, factory.signer)
    trusted = [factory.signer.verifier]
    proof = ConsistencyProof(4, 64, tuple(tree.consistency_proof(4, 64))).to_json_bytes()
    report = verify_bundle(sealed.bundle, trusted, prev_checkpoint=kept, consistency_proof=proof)
    assert report.ok, format_text(report)
    wrong_way = ConsistencyProof(64, 4, tuple(tree.consistency_proof(4, 64))).to_json_bytes()
    refused = verify_bundle(sealed.bundle, trusted, prev_checkpoint=kept, consistency_proof=wrong_way)
    assert "from size 64 to 4" in refused.failed[0].detail
    bad_hashes = ConsistencyProof(4, 64, tuple(reversed(tree.consistency_proof(4, 64)))).to_json_bytes()
    forged = verify_bundle(sealed.bundle, trusted, prev_checkpoint=kept, consistency_proof=bad_hashes)
    assert [c.name for c in forged.failed] == ["consistency"] and "NOT consistent" in forged.failed[0].detail
