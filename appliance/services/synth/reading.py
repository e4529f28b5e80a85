"""The report in plain words: each score beside its reference, a verdict, and a warning when a
score means little at this size.

Why a reference: a quality score of 0.82 says nothing alone. Real rows the model never saw (the
holdout) scored against the training rows on the same metric give what "as good as real data"
looks like on this table. Why at the holdout's size: sdmetrics' shape scores (KS, TV distance) grow
with the number of rows compared, so 10,000 synthetic rows beat 60 real holdout rows even when the
model is worse; scoring as many synthetic rows as the holdout has makes the two comparable, and the
gap between the full-size and the matched-size score is shown as the part of the score that is
only sample size.
"""

from __future__ import annotations

from typing import Any

GOOD_GAP = 0.02
FAIR_GAP = 0.07
SMALL_HOLDOUT = 200
SIZE_EFFECT = 0.02
FAR_RATIO = 1.25


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def fidelity_verdict(report: dict[str, Any], holdout_rows: int) -> dict[str, Any]:
    """Verdict on the quality score at the holdout's size against the holdout's own score."""
    score = (report.get("quality") or {}).get("score")
    matched = (report.get("quality_at_holdout_size") or {}).get("score")
    reference = (report.get("quality_reference") or {}).get("score")
    out: dict[str, Any] = {"check": "fidelity", "score": score, "score_at_holdout_size": matched,
                           "reference": reference, "warnings": []}
    if score is None:
        out.update(verdict="unknown", text="the quality score could not be computed")
        return out
    if reference is None or matched is None:
        out.update(
            verdict="unknown",
            text=f"quality {_fmt(score)}, with no real holdout to read it against (the model kept no holdout rows)",
        )
        return out
    gap = reference - matched
    if gap <= GOOD_GAP:
        verdict, words = "good", "as close to the training rows as real rows the model never saw"
    elif gap <= FAIR_GAP:
        verdict, words = "fair", "somewhat further from the training rows than real rows the model never saw"
    else:
        verdict, words = "poor", "clearly further from the training rows than real rows the model never saw"
    out.update(
        verdict=verdict,
        text=f"synthetic rows are {words}: quality {_fmt(matched)} against {_fmt(reference)} for the real "
        f"holdout, both on {holdout_rows:,} rows",
    )
    if verdict == "poor":
        out["text"] += "; quality.columns shows which columns differ most"
    size_effect = score - matched
    if size_effect > SIZE_EFFECT:
        out["warnings"].append(
            f"the full-size score {_fmt(score)} is {size_effect:.3f} higher than the same rows' score at "
            f"{holdout_rows:,} rows: that part is sample size, not fidelity; read the matched-size score"
        )
    if holdout_rows < SMALL_HOLDOUT:
        out["warnings"].append(
            f"only {holdout_rows:,} holdout rows: at this size the scores move by a few hundredths from sample to "
            "sample, so differences under about 0.03 mean nothing"
        )
    return out


def privacy_verdict(privacy: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"check": "privacy", "warnings": []}
    if not privacy:
        out.update(verdict="unknown", text="privacy was not computed (no training rows at hand)")
        return out
    dcr = privacy.get("dcr") or {}
    ratio, risk = dcr.get("ratio"), privacy.get("risk")
    out.update(score=(dcr.get("synthetic_to_train") or {}).get("median"),
               reference=(dcr.get("holdout_to_train") or {}).get("median"), verdict=risk or "unknown")
    if risk == "low" and ratio is not None and ratio >= FAR_RATIO:
        out["text"] = (
            f"synthetic rows sit further from the training rows than real holdout rows do (DCR ratio {_fmt(ratio)}): "
            "no sign of copying"
        )
    elif risk == "low":
        copies, natural = _fmt(privacy.get("exact_copy_rate")), _fmt(privacy.get("holdout_exact_copy_rate"))
        out["text"] = (
            f"synthetic rows sit as far from the training rows as real holdout rows do (DCR ratio {_fmt(ratio)}, "
            f"exact copies {copies} against {natural} for the holdout)"
        )
    elif risk == "elevated":
        out["text"] = (
            f"synthetic rows sit closer to the training rows than real holdout rows do (DCR ratio {_fmt(ratio)}, "
            f"{_fmt(privacy.get('closer_to_train_share'))} of them nearer the training rows): the model may copy"
        )
    else:
        out["text"] = "no holdout rows, so distances to the training rows have no baseline"
    return out


def rules_verdict(rules: dict[str, Any]) -> dict[str, Any]:
    held, total = rules.get("held", 0), rules.get("total", 0)
    broken = [r["rule"] for r in rules.get("rules", []) if r["violations"]]
    if total == 0:
        return {"check": "rules", "verdict": "unknown", "text": "no rules between columns were found or declared",
                "warnings": []}
    text = f"{rules['summary']} on {rules.get('rows_checked', 0):,} rows"
    if broken:
        text += "; broken: " + "; ".join(broken[:5])
    return {"check": "rules", "verdict": "good" if held == total else "poor", "text": text, "warnings": []}


def summary(report: dict[str, Any], holdout_rows: int) -> list[dict[str, Any]]:
    """One entry per check (fidelity, privacy, rules): score, reference, verdict, text, warnings."""
    return [
        fidelity_verdict(report, holdout_rows),
        privacy_verdict(report.get("privacy")),
        rules_verdict(report.get("rules") or {}),
    ]
