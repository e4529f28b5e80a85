"""Fidelity scores from sdmetrics: the quality report (column shapes, column pair trends) and the
diagnostic report (data validity, data structure), each in [0, 1], higher is better.

Both compare a sample of real rows with a sample of synthetic rows (at most ``MAX_ROWS`` each,
seeded), which keeps a report to about a second while the scores move by well under 0.01.
sdmetrics subsamples contingency tables with NumPy's global generator, so that is seeded too.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from appliance.services.synth.metadata import TableMetadata
from appliance.services.synth.seeding import seed_globals

if TYPE_CHECKING:
    import pandas as pd

MAX_ROWS = 10_000
QUALITY_PROPERTIES = {"Column Shapes": "column_shapes", "Column Pair Trends": "column_pair_trends"}
DIAGNOSTIC_PROPERTIES = {"Data Validity": "data_validity", "Data Structure": "data_structure"}


def _score(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number, 6) if math.isfinite(number) else None


def sample_rows(frame: pd.DataFrame, limit: int, seed: int) -> pd.DataFrame:
    if len(frame) <= limit:
        return frame.reset_index(drop=True)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    return frame.iloc[np.sort(rng.choice(len(frame), limit, replace=False))].reset_index(drop=True)


def _properties(report: Any, names: dict[str, str]) -> dict[str, float | None]:
    table = report.get_properties()
    found = {str(row["Property"]): _score(row["Score"]) for row in table.to_dict("records")}
    return {key: found.get(label) for label, key in names.items()}


def _column_scores(report: Any) -> list[dict[str, Any]]:
    details = report.get_details("Column Shapes")
    return [
        {"column": str(row["Column"]), "metric": str(row["Metric"]), "score": _score(row["Score"])}
        for row in details.to_dict("records")
    ]


def fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: TableMetadata, seed: int) -> dict[str, Any]:
    """``{"quality": {...}, "diagnostic": {...}}``; a report sdmetrics cannot compute is reported
    with ``score: null`` and the reason, rather than failing the job that produced good rows."""
    from sdmetrics.reports.single_table import DiagnosticReport, QualityReport

    real = sample_rows(real, MAX_ROWS, seed)
    synthetic = sample_rows(synthetic, MAX_ROWS, seed + 1)
    columns = [c for c in metadata.columns if c in real.columns and c in synthetic.columns]
    real, synthetic = real[columns], synthetic[columns]
    spec = metadata.for_sdmetrics()
    spec["columns"] = {c: spec["columns"][c] for c in columns}
    out: dict[str, Any] = {}
    seed_globals(seed)
    try:
        quality = QualityReport()
        quality.generate(real, synthetic, spec, verbose=False)
        out["quality"] = {
            "score": _score(quality.get_score()),
            **_properties(quality, QUALITY_PROPERTIES),
            "columns": _column_scores(quality),
        }
    except Exception as exc:
        out["quality"] = {"score": None, "error": f"{type(exc).__name__}: {exc}"}
    try:
        diagnostic = DiagnosticReport()
        diagnostic.generate(real, synthetic, spec, verbose=False)
        out["diagnostic"] = {"score": _score(diagnostic.get_score()), **_properties(diagnostic, DIAGNOSTIC_PROPERTIES)}
    except Exception as exc:
        out["diagnostic"] = {"score": None, "error": f"{type(exc).__name__}: {exc}"}
    out["rows_compared"] = {"real": len(real), "synthetic": len(synthetic)}
    return out
