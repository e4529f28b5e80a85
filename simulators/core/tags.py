"""Tag metadata: what a historian column, a Modbus register or an OPC UA node of a plant means.

Every plant declares its tags once. The engine groups them by role, which fixes both the column
order of datasets and where in the scan each attack stage can act:

* `sensor`: read-only measurement (after the sensor model);
* `setpoint` / `parameter`: writable analog values the PLC logic reads (SPs, trip limits);
* `mode` / `command`: writable booleans (AUTO/MAN, run/stop, reset);
* `actuator`: PLC output to a field device; writable ones take the operator's value while their
  loop is in manual;
* `status`: read-only PLC results (alarms, trips).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ROLES = ("sensor", "setpoint", "parameter", "mode", "command", "actuator", "status")
WRITABLE_ROLES = frozenset({"setpoint", "parameter", "mode", "command"})
KINDS = ("analog", "bool")


@dataclass(frozen=True)
class TagSpec:
    """One tag. Ranges are engineering ranges (what the instrument or register can hold)."""

    name: str
    unit: str
    role: str
    description: str
    low: float = 0.0
    high: float = 1.0
    kind: str = "analog"
    normal: tuple[float, float] | None = None
    default: float = 0.0
    writable_actuator: bool = False
    noise: float = 0.0
    drift: float = 0.0
    momentary: bool = False
    init_param: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"{self.name}: unknown role {self.role!r}")
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")
        if self.kind == "bool" and (self.low, self.high) != (0.0, 1.0):
            raise ValueError(f"{self.name}: boolean tags range over 0..1")
        if self.low >= self.high:
            raise ValueError(f"{self.name}: empty range")

    @property
    def writable(self) -> bool:
        return self.role in WRITABLE_ROLES or (self.role == "actuator" and self.writable_actuator)

    @property
    def is_bool(self) -> bool:
        return self.kind == "bool"

    @property
    def normal_range(self) -> tuple[float, float]:
        return self.normal if self.normal is not None else (self.low, self.high)

    def info(self) -> dict[str, Any]:
        """The JSON-friendly description adapters and manifests publish."""
        lo, hi = self.normal_range
        return {
            "name": self.name,
            "unit": self.unit,
            "kind": self.kind,
            "role": self.role,
            "writable": self.writable,
            "low": self.low,
            "high": self.high,
            "normal_low": lo,
            "normal_high": hi,
            "description": self.description,
        }


class TagTable:
    """Tags of one plant in engine order (sensors, inputs, actuators, statuses) with name lookups."""

    def __init__(self, tags: Iterable[TagSpec]) -> None:
        tags = tuple(tags)
        names = [t.name for t in tags]
        if len(set(names)) != len(names):
            raise ValueError("duplicate tag names")
        self.sensors = tuple(t for t in tags if t.role == "sensor")
        self.inputs = tuple(t for t in tags if t.role in WRITABLE_ROLES)
        self.actuators = tuple(t for t in tags if t.role == "actuator")
        self.statuses = tuple(t for t in tags if t.role == "status")
        self.columns: tuple[TagSpec, ...] = self.sensors + self.inputs + self.actuators + self.statuses
        self.names = tuple(t.name for t in self.columns)
        self.by_name = {t.name: t for t in self.columns}
        self.column_index = {name: i for i, name in enumerate(self.names)}
        self.group_index: dict[str, tuple[str, int]] = {}
        for group, members in (
            ("sensor", self.sensors),
            ("input", self.inputs),
            ("actuator", self.actuators),
            ("status", self.statuses),
        ):
            for i, t in enumerate(members):
                self.group_index[t.name] = (group, i)

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def __len__(self) -> int:
        return len(self.columns)

    def sensor(self, name: str) -> int:
        return self._index(name, "sensor")

    def input(self, name: str) -> int:
        return self._index(name, "input")

    def actuator(self, name: str) -> int:
        return self._index(name, "actuator")

    def status(self, name: str) -> int:
        return self._index(name, "status")

    def _index(self, name: str, group: str) -> int:
        got, i = self.group_index[name]
        if got != group:
            raise KeyError(f"{name} is a {got} tag, not a {group} tag")
        return i
