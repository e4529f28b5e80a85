"""The figures of docs/simulators.md: a normal day per plant, and one attack per technique with the
true process value beside what the historian recorded. Plain SVG written here (no plotting library
in the project's dependencies), deterministic: the same code and plant models give the same files.

Usage: python bench/plots_simulators.py [--out docs/img/simulators]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulators.dataset import simulate

WIDTH, PANEL_H, MARGIN_L, MARGIN_R, MARGIN_T, GAP = 760, 130, 70, 20, 34, 34
COLOURS = ("#1f5fa8", "#c0392b", "#2e7d32", "#7b3fa0")
NORMAL_DAY = {
    "water": ("LIT101", "LIT102", "FIT101", "FIT201"),
    # the production plan (FV101), the pump changeover (TCV102) and the 10:00 calibration (AT101)
    "chemical": ("TT101", "AT101", "FV101.POS", "TCV102.POS"),
    # night-time voltage reduction (V_B1, OLTC.TAP) and the capacitor time clock (Q_CAP)
    "power": ("V_B1", "OLTC.TAP", "Q_CAP", "P_SRC"),
}
ATTACK_RUN_S, ATTACK_START_S, ATTACK_LEN_S, STEP_S = 10800, 3600, 1800, 10
# technique -> (target, magnitude, the process value that shows the consequence), all on the water plant
ATTACKS: dict[str, tuple[str, float | None, str]] = {
    "manipulation_of_control": ("P101.SPEED", 100.0, "LIT101"),
    "manipulation_of_view": ("LIT101", 0.8, "LIT101"),
    "modify_parameter": ("LIC102.SP", 5.5, "LIT102"),
    "unauthorized_command": ("P201.RUN", 0.0, "LIT102"),
    "spoof_reporting_message": ("LIT101", -0.8, "LIT101"),
    "man_in_the_middle": ("FCV102.POS", 30.0, "LIT102"),
    "denial_of_service": ("FIT101", None, "FIT101"),
    "sensor_freeze": ("LIT101", None, "LIT101"),
    "replay": ("LIT101", None, "LIT101"),
    "ramp_injection": ("LIT102", 1.0, "LIT102"),
    "pulse_injection": ("FIT201", 150.0, "FIT201"),
}


@dataclass
class Series:
    label: str
    x: np.ndarray
    y: np.ndarray
    colour: str
    dash: str = ""


@dataclass
class Panel:
    title: str
    unit: str
    series: list[Series]
    shade: list[tuple[float, float]] = field(default_factory=list)


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".") if abs(v) < 1e6 else f"{v:.3g}"


def _tick(v: float) -> str:
    return f"{v:.4g}"


def svg(title: str, panels: Sequence[Panel], x_label: str) -> str:
    """Stacked line panels sharing the x axis; shaded spans mark attack windows."""
    height = MARGIN_T + len(panels) * (PANEL_H + GAP) + 10
    plot_w = WIDTH - MARGIN_L - MARGIN_R
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
           f'<text x="{MARGIN_L}" y="18" font-size="13" font-weight="bold">{title}</text>']
    for k, panel in enumerate(panels):
        top = MARGIN_T + k * (PANEL_H + GAP) + 14
        xs = np.concatenate([s.x for s in panel.series])
        ys = np.concatenate([s.y for s in panel.series])
        x0, x1 = float(xs.min()), float(xs.max())
        y0, y1 = float(np.nanmin(ys)), float(np.nanmax(ys))
        if y1 - y0 < 1e-9:
            y0, y1 = y0 - 1.0, y1 + 1.0
        pad = 0.08 * (y1 - y0)
        y0, y1 = y0 - pad, y1 + pad

        def px(x: float, x0: float = x0, x1: float = x1) -> float:
            return MARGIN_L + (x - x0) / (x1 - x0 or 1.0) * plot_w

        def py(y: float, y0: float = y0, y1: float = y1, top: float = top) -> float:
            return top + PANEL_H - (y - y0) / (y1 - y0) * PANEL_H

        out.append(f'<text x="{MARGIN_L}" y="{_fmt(top - 4)}" fill="#222">{panel.title} [{panel.unit}]</text>')
        out.append(f'<rect x="{MARGIN_L}" y="{_fmt(top)}" width="{plot_w}" height="{PANEL_H}" fill="none" '
                   f'stroke="#999"/>')
        for a, b in panel.shade:
            out.append(f'<rect x="{_fmt(px(a))}" y="{_fmt(top)}" width="{_fmt(px(b) - px(a))}" height="{PANEL_H}" '
                       f'fill="#f4b183" fill-opacity="0.35"/>')
        for frac in (0.0, 0.5, 1.0):
            value = y0 + frac * (y1 - y0)
            out.append(f'<text x="{MARGIN_L - 6}" y="{_fmt(py(value) + 4)}" text-anchor="end" fill="#555">'
                       f'{_tick(value)}</text>')
        for s in panel.series:
            points = " ".join(f"{_fmt(px(float(a)))},{_fmt(py(float(b)))}" for a, b in zip(s.x, s.y, strict=True)
                              if np.isfinite(b))
            dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
            out.append(f'<polyline points="{points}" fill="none" stroke="{s.colour}" stroke-width="1.3"{dash}/>')
        legend_x = WIDTH - MARGIN_R - 6
        for j, s in enumerate(reversed(panel.series)):
            out.append(f'<text x="{legend_x}" y="{_fmt(top - 4)}" text-anchor="end" fill="{s.colour}" '
                       f'dx="{-j * 150}">{s.label}</text>')
        if k == len(panels) - 1:
            for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
                value = x0 + frac * (x1 - x0)
                out.append(f'<text x="{_fmt(px(value))}" y="{_fmt(top + PANEL_H + 14)}" text-anchor="middle" '
                           f'fill="#555">{_tick(value)}</text>')
            out.append(f'<text x="{MARGIN_L + plot_w / 2}" y="{_fmt(top + PANEL_H + 28)}" text-anchor="middle" '
                       f'fill="#333">{x_label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _blocks(values: np.ndarray, every: int) -> np.ndarray:
    n = len(values) // every * every
    return values[:n].reshape(-1, every).mean(axis=1)


def normal_day(plant: str) -> str:
    data = simulate({"plant": plant, "duration": 86400, "seed": 1})
    table = data.table
    hours = _blocks(np.arange(table.num_rows) / 3600.0, 60)
    units = {c["name"]: c.get("unit", "") for c in data.manifest["columns"]}
    panels = [Panel(tag, units.get(tag, ""), [Series("recorded", hours, _blocks(table.column(tag).to_numpy()
                                                                                .astype(float), 60), COLOURS[0])])
              for tag in NORMAL_DAY[plant]]
    return svg(f"{plant}: one normal day (1 Hz, one-minute means)", panels, "hour of the day")


def attack_figure(technique: str) -> str:
    target, magnitude, effect = ATTACKS[technique]
    attack: dict[str, Any] = {"technique": technique, "start": ATTACK_START_S, "duration": ATTACK_LEN_S,
                              "targets": [target]}
    if magnitude is not None:
        attack["magnitude"] = magnitude
    data = simulate({"plant": "water", "duration": ATTACK_RUN_S, "seed": 2, "include_truth": True,
                     "attacks": [attack]})
    table, names = data.table, set(data.table.column_names)
    units = {c["name"]: c.get("unit", "") for c in data.manifest["columns"]}
    minutes = _blocks(np.arange(table.num_rows) / 60.0, STEP_S)
    window = [(ATTACK_START_S / 60.0, (ATTACK_START_S + ATTACK_LEN_S) / 60.0)]

    def panel(tag: str) -> Panel:
        series = [Series("recorded (view)", minutes, _blocks(table.column(tag).to_numpy().astype(float), STEP_S),
                         COLOURS[0])]
        if f"truth:{tag}" in names:
            series.append(Series("true", minutes, _blocks(table.column(f"truth:{tag}").to_numpy().astype(float),
                                                          STEP_S), COLOURS[1], "5,3"))
        return Panel(tag, units.get(tag, ""), series, window)

    panels = [panel(target)] + ([panel(effect)] if effect != target else [])
    shown = "" if magnitude is None else f", magnitude {magnitude:g}"
    return svg(f"water: {technique} on {target}{shown} (shaded)", panels, "minutes from the run start")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/img/simulators")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for plant in NORMAL_DAY:
        (out / f"normal-{plant}.svg").write_text(normal_day(plant))
        print("wrote", out / f"normal-{plant}.svg")
    for technique in ATTACKS:
        (out / f"attack-{technique}.svg").write_text(attack_figure(technique))
        print("wrote", out / f"attack-{technique}.svg")


if __name__ == "__main__":
    main()
