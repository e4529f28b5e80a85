"""Subjects carry SHA-256 and BLAKE3: every copy of an artifact must match both, bundles sealed
with BLAKE3 only still verify, and malformed or unknown digests are handled as the in-toto
digest-set spec says (malformed: a shape error; unknown algorithm: ignored)."""

from __future__ import annotations

import hashlib
import json

from sealforge_verify.bundle import Bundle
from sealforge_verify.report import Report
from sealforge_verify.sealing import seal_statement
from sealforge_verify.verify import verify_bundle

ROWS = "artifact_digest:rows.csv"


def _status(report: Report) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


def _detail(report: Report, name: str) -> str:
    check = report.get(name)
    assert check is not None
    return check.detail


def test_both_digests_are_checked_on_every_copy(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    digest = sealed.statement["subject"][1]["digest"]
    assert sorted(digest) == ["blake3", "sha256"]
    report = verify_bundle(sealed.bundle, [sealed.signer.verifier], artifacts_dir=sealed.artifacts_dir)
    assert report.ok
    detail = _detail(report, ROWS)
    assert f"sha256 {hashlib.sha256(sealed.artifacts['rows.csv']).hexdigest()}" in detail
    assert "bundle copy" in detail and "file " in detail


def test_a_bundle_sealed_with_blake3_only_still_verifies(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build(sha256=False)
    assert all(list(s["digest"]) == ["blake3"] for s in sealed.statement["subject"])
    report = verify_bundle(sealed.bundle, [sealed.signer.verifier], artifacts_dir=sealed.artifacts_dir)
    assert report.ok
    assert _detail(report, ROWS).startswith("blake3 ") and "sha256" not in _detail(report, ROWS)


def test_a_wrong_sha256_fails_even_when_blake3_matches(factory) -> None:  # type: ignore[no-untyped-def]
    rows = b"a,b\n1,2\n3,4\n"
    good = factory.build(artifacts={"rows.csv": rows})
    blake3_hex = good.statement["subject"][0]["digest"]["blake3"]
    wrong = hashlib.sha256(b"other bytes").hexdigest()
    sealed = factory.build(artifacts={"rows.csv": rows}, digests={"rows.csv": {"blake3": blake3_hex, "sha256": wrong}})
    report = verify_bundle(sealed.bundle, [sealed.signer.verifier], artifacts_dir=sealed.artifacts_dir)
    assert [c.name for c in report.failed] == [ROWS]
    detail = report.failed[0].detail
    assert detail.startswith(f"MISMATCH: statement says sha256 {wrong}, blake3 {blake3_hex}")
    assert f"has sha256 {hashlib.sha256(rows).hexdigest()}" in detail and "has blake3" not in detail
    assert detail.count(" has sha256 ") == 2  # the bundle copy and the directory copy


def test_malformed_digests_fail_the_statement_shape(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    bad_values = {
        "sha256": ["ABCD", 7, "g" * 64, hashlib.sha256(b"x").hexdigest().upper()],
        "blake3": [None, "1" * 63],
    }
    for algorithm, values in bad_values.items():
        for value in values:
            statement = json.loads(json.dumps(sealed.statement))
            statement["subject"][1]["digest"][algorithm] = value
            members = {**sealed.members(), "envelope.json": seal_statement(statement, sealed.signer)}
            report = verify_bundle(Bundle.from_members(members), [sealed.signer.verifier])
            failed = {c.name: c.detail for c in report.failed}
            assert "statement_shape" in failed, (algorithm, value)
            assert "subject[1]" in failed["statement_shape"] and algorithm in failed["statement_shape"]
            assert ROWS not in _status(report)  # a malformed subject is not checked against files


def test_unknown_digest_algorithms_are_ignored(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    statement = json.loads(json.dumps(sealed.statement))
    statement["subject"][1]["digest"]["sha512"] = "not even hex"
    members = {**sealed.members(), "envelope.json": seal_statement(statement, sealed.signer)}
    report = verify_bundle(Bundle.from_members(members), [sealed.signer.verifier])
    assert _status(report)["statement_shape"] == "pass"
    assert _status(report)[ROWS] == "pass"
    assert [c.name for c in report.failed] == ["inclusion_proof"]  # the re-signed envelope is not the logged one
