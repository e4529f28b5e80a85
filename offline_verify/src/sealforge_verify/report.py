"""The verification report: named checks with a status and a detail, as text or as JSON.

Why: an auditor reads the text; scripts read the JSON. Both come from the same list so they can
never disagree. A skipped check (for instance an artifact nobody supplied) is neither a pass nor
a failure; it is listed and counted so that nobody mistakes "not checked" for "checked", and the
verdict itself says so when artifacts went unchecked: ``VERIFIED`` only ever means everything,
artifacts included, was checked and passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FAIL",
    "NOT_VERIFIED",
    "PASS",
    "SKIP",
    "VERIFIED",
    "VERIFIED_WITHOUT_ARTIFACTS",
    "Check",
    "Report",
    "format_text",
]

PASS = "pass"
FAIL = "fail"
SKIP = "skip"
ARTIFACT_CHECK = "artifact_digest:"
VERIFIED = "verified"
VERIFIED_WITHOUT_ARTIFACTS = "verified_without_artifacts"
NOT_VERIFIED = "not_verified"


@dataclass(frozen=True)
class Check:
    """One named check. ``ok`` is True for pass, False for fail and None for skip."""

    name: str
    status: str
    detail: str

    @property
    def ok(self) -> bool | None:
        return None if self.status == SKIP else self.status == PASS

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "ok": self.ok, "detail": self.detail}


@dataclass
class Report:
    """All checks run on one bundle. The bundle verifies when no check failed."""

    bundle: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and bool(self.passed)

    @property
    def passed(self) -> list[Check]:
        return [c for c in self.checks if c.status == PASS]

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def skipped(self) -> list[Check]:
        return [c for c in self.checks if c.status == SKIP]

    def get(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    @property
    def unchecked_artifacts(self) -> list[str]:
        """Subjects whose digests were not compared with any copy (no copy was given)."""
        return [c.name.split(":", 1)[1] for c in self.skipped if c.name.startswith(ARTIFACT_CHECK)]

    @property
    def verdict(self) -> str:
        """``verified``; ``verified_without_artifacts`` (everything checked passed, but some
        artifacts were not checked: the signature and log say what was sealed, not that the files
        at hand are it); or ``not_verified``."""
        if not self.ok:
            return NOT_VERIFIED
        return VERIFIED_WITHOUT_ARTIFACTS if self.unchecked_artifacts else VERIFIED

    def summary(self) -> str:
        parts = [f"{len(self.passed)} passed", f"{len(self.failed)} failed", f"{len(self.skipped)} skipped"]
        text = ", ".join(parts)
        unchecked = self.unchecked_artifacts
        if unchecked:
            text += f"; {len(unchecked)} artifact(s) NOT checked: {', '.join(unchecked)}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle,
            "ok": self.ok,
            "verdict": self.verdict,
            "artifacts_not_checked": self.unchecked_artifacts,
            "summary": self.summary(),
            "checks": [c.to_dict() for c in self.checks],
        }


def format_text(report: Report) -> str:
    """Human report: one line per check (PASS/FAIL/SKIP, name, detail) and a verdict."""
    width = max((len(c.name) for c in report.checks), default=0)
    lines = [f"Sealforge bundle: {report.bundle}"]
    for c in report.checks:
        lines.append(f"  {c.status.upper():4}  {c.name:<{width}}  {c.detail}")
    if report.verdict == VERIFIED_WITHOUT_ARTIFACTS:
        unchecked = report.unchecked_artifacts
        total = sum(1 for c in report.checks if c.name.startswith(ARTIFACT_CHECK))
        lines.append(
            f"Result: ARTIFACTS NOT CHECKED ({len(unchecked)} of {total}) - the signature and the log verify, "
            "but nothing shows that your copies of the artifacts are the sealed ones. Give them with "
            "--artifacts DIR (or --require-artifacts to make this a failure)."
        )
        lines.append(f"        ({report.summary()})")
    else:
        verdict = "VERIFIED" if report.ok else "NOT VERIFIED"
        lines.append(f"Result: {verdict} ({report.summary()})")
    return "\n".join(lines) + "\n"
