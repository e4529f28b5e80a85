"""The contract between a plant model and the scan engine.

A plant is physics plus the PLC program that runs it. The engine owns time, sensors, attacks and
recording; the plant only answers five questions, each for all instances at once (values are
floats or arrays, see `core.ops`):

* `start(w0)`: initial physical state, operator values of writable actuators, applied actuators;
* `exogenous(first_scan, count)`: uncontrolled inputs (demand, weather, grid) for a block of scans;
* `measure(x, app, w)`: true values of the sensor tags;
* `control(rd, inp, man, w)`: one PLC scan, from readings to actuator commands and statuses;
* `rhs(x, app, w)`: time derivatives, integrated with RK4 by `integrate`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from simulators.core.integrator import State, rk4
from simulators.core.ops import Ops
from simulators.core.params import ParamSpec
from simulators.core.plc import OperatorReset
from simulators.core.tags import TagSpec, TagTable


class PlantModel(ABC):
    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]
    version: ClassVar[str] = "1"
    dt_max: ClassVar[float]  # largest internal RK4 step, s
    TAGS: ClassVar[tuple[TagSpec, ...]]
    PARAMS: ClassVar[tuple[ParamSpec, ...]]
    EXOGENOUS: ClassVar[tuple[tuple[str, str], ...]]  # (name, unit) of each exogenous channel
    # Analysers: (sensor tag, sample interval parameter, dead time parameter), both in seconds.
    ANALYSERS: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    # Sensors the PLC's loops and interlocks act on: a forged reading of one of them moves the process
    # (the attack planner aims reading attacks at these).
    CONTROL_SENSORS: ClassVar[tuple[str, ...]] = ()
    # The process state as sensors show it (levels, temperatures, concentrations, voltages): what an
    # attack's physical effect is measured on (`attacks.outcome`).
    PROCESS_VARIABLES: ClassVar[tuple[str, ...]] = ()
    _tables: ClassVar[dict[str, TagTable]] = {}
    # Whether `instrument` changes readings (the engine skips the call otherwise).
    INSTRUMENTS: ClassVar[bool] = False
    # The simulated operator who resets latched trips and lockouts (`operator_reset`), if the plant has one.
    operator: OperatorReset | None = None

    def __init__(
        self,
        params: Mapping[str, float],
        ops: Ops,
        rngs: Sequence[np.random.Generator],
        scan_period: float,
        start_hour: float,
    ) -> None:
        self.p = dict(params)
        self.ops = ops
        self.rngs = list(rngs)
        self.n = len(self.rngs)
        self.scan = scan_period
        self.start_hour = start_hour
        self.tags = self.tag_table()

    @classmethod
    def tag_table(cls) -> TagTable:
        table = PlantModel._tables.get(cls.name)
        if table is None:
            table = PlantModel._tables[cls.name] = TagTable(cls.TAGS)
        return table

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {
            "name": cls.name,
            "title": cls.title,
            "summary": cls.summary,
            "version": cls.version,
            "internal_step_s": cls.dt_max,
            "tags": [t.info() for t in cls.tag_table().columns],
            "params": [p.info() for p in cls.PARAMS],
            "exogenous": [{"name": n, "unit": u} for n, u in cls.EXOGENOUS],
        }

    def substreams(self) -> list[np.random.Generator]:
        """A fresh generator per instance for one random process. Processes never share a generator,
        so their values do not depend on how many scans are drawn at a time."""
        return [rng.spawn(1)[0] for rng in self.rngs]

    def hours(self, first_scan: int, count: int) -> np.ndarray:
        """Hour of day (UTC) of each scan in a block, for the daily profiles."""
        return self.start_hour + (first_scan + np.arange(count)) * (self.scan / 3600.0)

    def input_defaults(self) -> list[Any]:
        """Operator values of the writable non-actuator tags at t = 0."""
        out: list[Any] = []
        for t in self.tags.inputs:
            value = self.p[t.init_param] if t.init_param else t.default
            out.append(self.ops.full_bool(value) if t.is_bool else self.ops.full(value))
        return out

    def events(self, first_scan: int, count: int) -> list[tuple[int, int, str, float]]:
        """Operator-level writes the plant's operating modes make in scans first_scan .. +count
        (schedules, duty rotation, operator actions, maintenance): (scan, instance, tag, value),
        sorted by scan. They land where an operator's write would, so the recorded setpoint and mode
        columns show them and input-stage attacks still override them. Default: none."""
        return []

    def operator_writes(self) -> list[tuple[int, str, float]]:
        """Writes an operator makes after this scan in response to what the PLC shows (e.g. RESET once a
        trip's cause has cleared): (instance, tag, value), applied as operator writes for the next scan.
        Default: the `operator`'s resets, if the plant has one."""
        return self.operator.writes() if self.operator is not None else []

    def instrument(self, readings: list[Any], true: Sequence[Any], w: Any) -> list[Any]:
        """What an instrument reports instead of the process for a while (an analyser analysing its
        calibration standards), given the readings with noise and drift and the true values; applied
        before the analysers' sample/hold, so those results come through late like any sample. Only
        called when `INSTRUMENTS` is true; default: the readings as they are."""
        return readings

    def integrate(self, x: State, app: list[Any], w: Any, h: float, steps: int) -> State:
        return rk4(self.rhs, x, app, w, h, steps)

    def devices(self, commands: list[Any]) -> list[Any]:
        """Field mechanisms between what reaches the device and what it does (after command-stage
        attacks, so an attacker on the wire cannot make equipment move faster than it can). Default:
        every device applies its command at once."""
        return commands

    @abstractmethod
    def start(self, w0: Any) -> tuple[State, list[Any], list[Any]]:
        """(state, operator values of actuators, applied actuators) at t = 0."""

    @abstractmethod
    def exogenous(self, first_scan: int, count: int) -> np.ndarray:
        """Exogenous inputs for scans first_scan .. +count, shaped (count, channels, instances)."""

    @abstractmethod
    def measure(self, x: State, app: list[Any], w: Any) -> list[Any]:
        """True values of the sensor tags, in `tags.sensors` order."""

    @abstractmethod
    def control(self, rd: list[Any], inp: list[Any], man: list[Any], w: Any) -> tuple[list[Any], list[Any]]:
        """One PLC scan: (actuator commands in `tags.actuators` order, statuses in `tags.statuses` order)."""

    @abstractmethod
    def rhs(self, x: State, app: list[Any], w: Any) -> State:
        """dx/dt under held actuators `app` and exogenous inputs `w`."""
