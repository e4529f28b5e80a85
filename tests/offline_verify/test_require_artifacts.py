"""When artifacts go unchecked the verdict says so in words (never a bare ``VERIFIED``), and
``--require-artifacts`` turns that into a failure: exit 1, as for any failed check."""

from __future__ import annotations

import json

from sealforge_verify.report import NOT_VERIFIED, VERIFIED, VERIFIED_WITHOUT_ARTIFACTS, format_text
from sealforge_verify.verify import verify_bundle


def test_unchecked_artifacts_are_the_verdict_not_a_footnote(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build(embed=False)
    report = verify_bundle(sealed.bundle, [sealed.signer.verifier])
    assert report.ok and report.verdict == VERIFIED_WITHOUT_ARTIFACTS
    assert report.unchecked_artifacts == ["report/summary.json", "rows.csv"]
    result = format_text(report).splitlines()[-2]
    assert result.startswith("Result: ARTIFACTS NOT CHECKED (2 of 2)") and "Result: VERIFIED" not in format_text(report)
    doc = report.to_dict()
    assert doc["verdict"] == "verified_without_artifacts" and doc["artifacts_not_checked"] == report.unchecked_artifacts

    (sealed.artifacts_dir / "rows.csv").unlink()
    partly = verify_bundle(sealed.bundle, [sealed.signer.verifier], artifacts_dir=sealed.artifacts_dir)
    assert partly.verdict == VERIFIED_WITHOUT_ARTIFACTS and partly.unchecked_artifacts == ["rows.csv"]
    assert "ARTIFACTS NOT CHECKED (1 of 2)" in format_text(partly)


def test_require_artifacts_fails_each_missing_copy(factory) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build(embed=False)
    trusted = [sealed.signer.verifier]
    report = verify_bundle(sealed.bundle, trusted, require_artifacts=True)
    assert not report.ok and report.verdict == NOT_VERIFIED
    assert [c.name for c in report.failed] == ["artifact_digest:report/summary.json", "artifact_digest:rows.csv"]
    assert all("--require-artifacts" in c.detail for c in report.failed)
    assert "Result: NOT VERIFIED" in format_text(report)

    complete = verify_bundle(sealed.bundle, trusted, artifacts_dir=sealed.artifacts_dir, require_artifacts=True)
    assert complete.ok and complete.verdict == VERIFIED
    embedded = factory.build()
    assert verify_bundle(embedded.bundle, [embedded.signer.verifier], require_artifacts=True).verdict == VERIFIED


def test_the_command_exits_1_with_require_artifacts(factory, cli) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build(embed=False)
    lenient = cli(sealed.bundle, "--trust", sealed.trust)
    assert lenient.returncode == 0 and "Result: ARTIFACTS NOT CHECKED (2 of 2)" in lenient.stdout
    strict = cli(sealed.bundle, "--trust", sealed.trust, "--require-artifacts", "--json")
    assert strict.returncode == 1, strict.stdout + strict.stderr
    doc = json.loads(strict.stdout)
    assert doc["ok"] is False and doc["verdict"] == "not_verified"
    given = cli(sealed.bundle, "--trust", sealed.trust, "--require-artifacts", "--artifacts", sealed.artifacts_dir)
    assert given.returncode == 0 and "Result: VERIFIED (" in given.stdout
    bad = cli(sealed.bundle, "--trust", sealed.trust, "--require-artifacts=yes")
    assert bad.returncode == 2 and bad.stdout == "" and "--require-artifacts" in bad.stderr
