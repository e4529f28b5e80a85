"""Small bar charts drawn on the server as SVG: a column's histogram or top values, a report's
per-column scores, the DCR distances.

They need no script (the CSP allows none inline, and a profile page should read at once on a
tablet), so the pages compute the geometry here and ``_charts.html`` draws rectangles and labels.
Numbers are formatted here too, so a chart and its table say the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

WIDTH = 320
HEIGHT = 120
LABEL_CHARS = 18
LABEL_WIDTH = 110
VALUE_WIDTH = 64


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str


@dataclass(frozen=True)
class Chart:
    """Bars within a WIDTH × HEIGHT box, with an accessible title and the axis ends to print."""

    title: str
    bars: list[Bar]
    low: str = ""
    high: str = ""
    horizontal: bool = False

    @property
    def height(self) -> int:
        return HEIGHT if not self.horizontal else 18 * len(self.bars) + 4


def number(value: Any) -> str:
    """A value as a person reads it on a chart: 4 significant digits, thousands grouped."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = str(value)
        return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.4g}" if abs(value) >= 1e-3 else f"{value:.3g}"


def histogram(title: str, edges: list[float], counts: list[int]) -> Chart:
    """Vertical bars, one per bin, heights relative to the fullest bin."""
    top = max(counts, default=0) or 1
    width = WIDTH / max(len(counts), 1)
    bars = []
    for i, count in enumerate(counts):
        height = (HEIGHT - 2) * count / top
        label = f"{number(edges[i])} to {number(edges[i + 1])}" if i + 1 < len(edges) else ""
        bars.append(Bar(i * width + 0.5, HEIGHT - height, max(width - 1, 1), height, label, number(count)))
    return Chart(title, bars, number(edges[0]) if edges else "", number(edges[-1]) if edges else "")


def horizontal(title: str, items: list[tuple[str, float | None]], scale: float | None = None) -> Chart:
    """One labelled bar per item, lengths relative to ``scale`` (default: the largest value); an
    item without a value (a score sdmetrics could not compute) is a zero-length bar marked "—"."""
    biggest = scale or max((v for _, v in items if v is not None), default=0.0) or 1.0
    bars = []
    for i, (label, value) in enumerate(items):
        share = max(0.0, min(1.0, (value or 0.0) / biggest))
        length = (WIDTH - LABEL_WIDTH - VALUE_WIDTH) * share
        bars.append(Bar(LABEL_WIDTH, i * 18 + 2, length, 14, number(label), "—" if value is None else number(value)))
    return Chart(title, bars, horizontal=True)


def column_chart(column: dict[str, Any]) -> Chart | None:
    """A profile column's picture: its histogram when numeric (profiles made before histograms
    existed fall back to the top values), else its most frequent values."""
    shape = column.get("histogram") or {}
    if shape.get("counts"):
        return histogram(f"Distribution of {column['name']}", shape["edges"], shape["counts"])
    top = column.get("top_values") or []
    if not top:
        return None
    return horizontal(f"Most frequent values of {column['name']}", [(str(t["value"]), t["count"]) for t in top])
