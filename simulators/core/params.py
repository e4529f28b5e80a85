"""Plant parameters: declared once with units, bounds and a default, validated with a named field.

A plant's physics constants, initial conditions, controller tuning and alarm limits are all
parameters, so a request can change any of them and the manifest can record every value used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from simulators.errors import SimulationParamError


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: float
    unit: str
    low: float
    high: float
    doc: str
    kind: str = "float"  # "float" | "int" | "bool"

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "default": self.default,
            "unit": self.unit,
            "low": self.low,
            "high": self.high,
            "kind": self.kind,
            "description": self.doc,
        }


def coerce_number(value: Any, field: str) -> float:
    """A finite real number; booleans are refused so `true` never silently means 1."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SimulationParamError(field, f"must be a number, got {type(value).__name__}")
    out = float(value)
    if not math.isfinite(out):
        raise SimulationParamError(field, "must be finite")
    return out


def resolve_params(
    specs: Iterable[ParamSpec], given: Mapping[str, Any] | None, owner: str, field: str = "params"
) -> dict[str, float]:
    """Defaults overlaid with `given`; unknown names, wrong types and out-of-range values are refused."""
    table = {s.name: s for s in specs}
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise SimulationParamError(field, "must be an object of parameter names to values")
    for name in given:
        if name not in table:
            known = ", ".join(sorted(table))
            raise SimulationParamError(f"{field}.{name}", f"unknown parameter for {owner}; known: {known}")
    out: dict[str, float] = {}
    for name, spec in table.items():
        if name not in given:
            out[name] = float(spec.default)
            continue
        raw = given[name]
        where = f"{field}.{name}"
        if spec.kind == "bool":
            if isinstance(raw, bool):
                out[name] = 1.0 if raw else 0.0
                continue
            if raw in (0, 1) and not isinstance(raw, float):
                out[name] = float(raw)
                continue
            raise SimulationParamError(where, "must be true or false")
        value = coerce_number(raw, where)
        if spec.kind == "int" and value != int(value):
            raise SimulationParamError(where, "must be a whole number")
        if not spec.low <= value <= spec.high:
            raise SimulationParamError(where, f"must be between {spec.low:g} and {spec.high:g} {spec.unit}".rstrip())
        out[name] = value
    return out
