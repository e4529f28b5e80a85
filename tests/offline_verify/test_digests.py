"""Subjects carry SHA-256 (digest set) and BLAKE3 (annotation): every copy of an artifact must
match both, bundles sealed the older ways (both in the digest set; BLAKE3 alone) still verify, and
malformed or unknown digests are handled as the in-toto digest-set spec says (malformed: a shape
error; unknown algorithm: ignored)."""

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
    subject = sealed.statement["subject"][1]
    assert subject["name"] == "rows.csv"
    assert list(subject["digest"]) == ["sha256"] and list(subject["annotations"]) == ["blake3"]
    report = verify_bundle(sealed.bundle, [sealed.signer.verifier], artifacts_dir=sealed.artifacts_dir)
    assert report.ok
    detail = _detail(report, ROWS)
    assert f"sha256 {hashlib.sha256(sealed.artifacts['rows.csv']).hexdigest()}" in detail
    assert "bundle copy" in detail and "file " in detail


def test_a_bundle_sealed_with_blake3_only_still_verifies(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build(layout="blake3")
    assert all(list(s["digest"]) == ["blake3"] and "annotations" not in s for s in sealed.statement["subject"])
    report = verify_bundle(sealed.bundle, [sealed.signer.verifier], artifacts_dir=sealed.artifacts_dir)
    assert report.ok
    assert _detail(report, ROWS).startswith("blake3 ") and "sha256" not in _detail(report, ROWS)


def test_a_bundle_with_blake3_in_the_digest_set_still_verifies(factory) -> None:  # type: ignore[no-untyped-def]
    """Sealed between SHA-256's arrival and BLAKE3's move to the annotations: both in the digest set,
    both still checked, and a wrong artifact still caught by each."""
    rows = b"a,b\n1,2\n3,4\n"
    sealed = factory.build(layout="digest_set", artifacts={"rows.csv": rows})
    assert [sorted(s["digest"]) for s in sealed.statement["subject"]] == [["blake3", "sha256"]]
    assert "annotations" not in sealed.statement["subject"][0]
    report = verify_bundle(sealed.bundle, [sealed.signer.verifier], artifacts_dir=sealed.artifacts_dir)
    assert report.ok
    detail = _detail(report, ROWS)
    assert f"sha256 {hashlib.sha256(rows).hexdigest()}, blake3 " in detail and "match bundle copy" in detail
    (sealed.artifacts_dir / "rows.csv").write_bytes(rows + b"5,6\n")
    report = verify_bundle(sealed.bundle, [sealed.signer.verifier], artifacts_dir=sealed.artifacts_dir)
    assert [c.name for c in report.failed] == [ROWS]
    assert "has sha256 " in report.failed[0].detail and ", blake3 " in report.failed[0].detail.split(" has ")[1]


def test_a_wrong_blake3_annotation_fails_even_when_sha256_matches(factory) -> None:  # type: ignore[no-untyped-def]
    rows = b"a,b\n1,2\n3,4\n"
    wrong = "0f" * 32
    sealed = factory.build(
        artifacts={"rows.csv": rows},
        digests={"rows.csv": {"blake3": wrong, "sha256": hashlib.sha256(rows).hexdigest()}},
    )
    assert sealed.statement["subject"][0]["annotations"] == {"blake3": wrong}
    report = verify_bundle(sealed.bundle, [sealed.signer.verifier], artifacts_dir=sealed.artifacts_dir)
    assert [c.name for c in report.failed] == [ROWS]
    detail = report.failed[0].detail
    assert detail.startswith(f"MISMATCH: statement says sha256 {hashlib.sha256(rows).hexdigest()}, blake3 {wrong}")
    assert "has blake3 " in detail and "has sha256" not in detail
    assert detail.count(" has blake3 ") == 2  # the bundle copy and the directory copy


def test_a_wrong_sha256_fails_even_when_blake3_matches(factory) -> None:  # type: ignore[no-untyped-def]
    rows = b"a,b\n1,2\n3,4\n"
    good = factory.build(artifacts={"rows.csv": rows})
    blake3_hex = good.statement["subject"][0]["annotations"]["blake3"]
    wrong = hashlib.sha256(b"other bytes").hexdigest()
    sealed = factory.build(artifacts={"rows.csv": rows}, digests={"rows.csv": {"blake3": blake3_hex, "sha256": wrong}})
    report = verify_bundle(sealed.bundle, [sealed.signer.verifier], artifacts_dir=sealed.artifacts_dir)
    assert [c.name for c in report.failed] == [ROWS]
    detail = report.failed[0].detail
    assert detail.startswith(f"MISMATCH: statement says sha256 {wrong}, blake3 {blake3_hex}")
    assert f"has sha256 {hashlib.sha256(rows).hexdigest()}" in detail and "has blake3" not in detail
    assert detail.count(" has sha256 ") == 2  # the bundle copy and the directory copy


def _reseal_problem(sealed, mutate) -> str:  # type: ignore[no-untyped-def]
    """Re-sign the statement after ``mutate(subject)`` on ``rows.csv``; the statement_shape failure."""
    statement = json.loads(json.dumps(sealed.statement))
    mutate(statement["subject"][1])
    members = {**sealed.members(), "envelope.json": seal_statement(statement, sealed.signer)}
    report = verify_bundle(Bundle.from_members(members), [sealed.signer.verifier])
    failed = {c.name: c.detail for c in report.failed}
    assert "statement_shape" in failed, statement["subject"][1]
    assert ROWS not in _status(report)  # a malformed subject is not checked against files
    return failed["statement_shape"]


def test_malformed_digests_fail_the_statement_shape(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    bad_values = {
        ("digest", "sha256"): ["ABCD", 7, "g" * 64, hashlib.sha256(b"x").hexdigest().upper()],
        ("annotations", "blake3"): [None, "1" * 63],
        ("digest", "blake3"): [None, "1" * 63],
    }
    for (field, algorithm), values in bad_values.items():
        for value in values:
            problem = _reseal_problem(sealed, lambda s: s[field].update({algorithm: value}))  # noqa: B023
            assert f"subject[1]: {field}.{algorithm} digest must be 64 lowercase hex" in problem, (field, value)


def test_a_subject_needs_its_blake3_and_a_sha256_beside_the_annotation(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    assert "blake3 digest is missing" in _reseal_problem(sealed, lambda s: s.pop("annotations"))
    assert "annotations must be an object" in _reseal_problem(sealed, lambda s: s.update(annotations=["x"]))
    assert "digest must hold sha256" in _reseal_problem(sealed, lambda s: s.update(digest={}))
    other = "0f" * 32
    differ = _reseal_problem(sealed, lambda s: s["digest"].update(blake3=other))
    assert "digest.blake3 and annotations.blake3 differ" in differ


def test_unknown_digest_algorithms_are_ignored(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    statement = json.loads(json.dumps(sealed.statement))
    statement["subject"][1]["digest"]["sha512"] = "not even hex"
    statement["subject"][1]["annotations"]["note"] = {"any": ["json"]}
    members = {**sealed.members(), "envelope.json": seal_statement(statement, sealed.signer)}
    report = verify_bundle(Bundle.from_members(members), [sealed.signer.verifier])
    assert _status(report)["statement_shape"] == "pass"
    assert _status(report)[ROWS] == "pass"
    assert [c.name for c in report.failed] == ["inclusion_proof"]  # the re-signed envelope is not the logged one
