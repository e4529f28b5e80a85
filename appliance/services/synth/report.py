"""``report.json`` of a synthesize job: fidelity (sdmetrics quality and diagnostic) and privacy
(DCR against a holdout baseline, exact copies), plus what was compared with what.

Nothing in it depends on the clock or the machine's speed, so a rerun of the same contract gives a
byte-identical report (the job is sealed as deterministic).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.services.synth import reading, rules
from appliance.services.synth.metadata import TableMetadata
from appliance.services.synth.privacy import privacy_report
from appliance.services.synth.quality import fidelity, sample_rows

if TYPE_CHECKING:
    import pandas as pd

REPORT_VERSION = 2


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("sdv", "sdmetrics", "rdt", "ctgan", "copulas", "scikit-learn"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out


def build_report(
    synthetic: pd.DataFrame,
    train: pd.DataFrame | None,
    holdout: pd.DataFrame | None,
    metadata: TableMetadata,
    seed: int,
    about: dict[str, Any],
) -> dict[str, Any]:
    """The report; without reference rows (the training dataset was deleted) the scores are null
    and ``notes`` says why, so the rows are still delivered."""
    notes: list[str] = []
    report: dict[str, Any] = {"version": REPORT_VERSION, **about, "versions": versions()}
    if about.get("conditions"):
        notes.append("rows were sampled under conditions, so they are compared with unconditioned real rows")
    report["rules"] = rules.check(synthetic, metadata.rules)
    if train is None or len(train) == 0:
        notes.append("the training dataset is no longer available; fidelity and privacy were not computed")
        report.update(quality={"score": None}, diagnostic={"score": None}, privacy=None, notes=notes)
        report["summary"] = reading.summary(report, 0)
        return report
    scores = fidelity(train, synthetic, metadata, seed)
    report.update(scores)
    holdout_rows = 0 if holdout is None else len(holdout)
    if holdout_rows and report["quality"].get("score") is not None:
        report["quality_reference"] = _headline(fidelity(train, holdout, metadata, seed)["quality"])
        matched = sample_rows(synthetic, holdout_rows, seed + 2)
        report["quality_at_holdout_size"] = _headline(fidelity(train, matched, metadata, seed)["quality"])
    if metadata.sequence:
        from appliance.services.synth.sequence_metrics import sequence_report

        report["sequences"] = sequence_report(train, synthetic, metadata.sequence, seed)
    report["privacy"] = privacy_report(synthetic, train, holdout, seed)
    if holdout is None or len(holdout) == 0:
        notes.append("the model kept no holdout rows, so DCR has no baseline (risk: unknown)")
    report["notes"] = notes
    report["summary"] = reading.summary(report, holdout_rows)
    return report


def _headline(quality: dict[str, Any]) -> dict[str, Any]:
    return {key: quality.get(key) for key in ("score", "column_shapes", "column_pair_trends")}
