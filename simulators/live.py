"""One plant instance stepped in (simulated) real time, with tag reads and writes.

This is the surface a Modbus TCP or OPC UA adapter sits on: list the tags (units, ranges,
writable, analog/bool), read every current value, write setpoints and commands by name, and call
`step()` once per scan period from its own timer. Writes behave as writes to a PLC do: they are
stored at once (a read returns them) and act from the next scan; an actuator written while its
loop is in AUTO is overwritten by the loop on that scan.

A plant can be *paused* (`pause()` / `resume()`): its owner stops stepping it, reads keep returning
the last values, and every write is refused with `PlantPausedError`, whichever protocol it comes
from, so a frozen process never takes a setpoint it would only act on later.

All methods are thread-safe: a protocol server may read and write from its own threads while
another thread steps the plant.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from simulators.attacks.scenario import AttackScenario, parse_scenarios
from simulators.core.params import resolve_params
from simulators.core.sensors import SensorOptions
from simulators.core.tags import TagSpec
from simulators.errors import (
    PlantPausedError,
    ReadOnlyTagError,
    SimulationParamError,
    TagValueError,
    UnknownTagError,
)
from simulators.plants.registry import get_plant
from simulators.runtime import Simulation
from simulators.validation import DEFAULT_START, format_ms, parse_time

Value = float | bool


class LivePlant:
    """A single plant instance. The first scan (t = 0) runs on construction, so values are readable."""

    def __init__(
        self,
        plant: str,
        params: Mapping[str, Any] | None = None,
        *,
        seed: int = 0,
        scan_period: float = 1.0,
        sensors: Mapping[str, Any] | None = None,
        attacks: Sequence[Mapping[str, Any]] | None = None,
        start_time: str = DEFAULT_START,
    ) -> None:
        cls = get_plant(plant)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise SimulationParamError("seed", "must be a non-negative integer")
        if isinstance(scan_period, bool) or not isinstance(scan_period, int | float) or not 0.01 <= scan_period <= 10:
            raise SimulationParamError("scan_period", "must be between 0.01 and 10 s")
        self.plant_cls = cls
        self.params = resolve_params(cls.PARAMS, params, f"plant '{cls.name}'")
        self.table = cls.tag_table()
        self.start_ms = parse_time(start_time, "start_time")
        scenarios: list[AttackScenario] = parse_scenarios(attacks, self.table, math.inf)
        self._lock = threading.RLock()
        self._sim = Simulation(
            cls,
            self.params,
            seed=seed,
            scan_period=float(scan_period),
            sensors=SensorOptions.parse(sensors),
            scenarios=scenarios,
            start_ms=self.start_ms,
        )
        self.scan_period = self._sim.scan_period
        self._values: dict[str, Value] = {}
        self._quality: dict[str, int] = {}
        self._time = 0.0
        self._paused = False
        self._scan()

    # -- metadata ----------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.plant_cls.name

    def tags(self) -> list[dict[str, Any]]:
        """Every tag: name, unit, kind (analog/bool), role, writable, low/high, normal range, description."""
        return [t.info() for t in self.table.columns]

    def tag(self, name: str) -> dict[str, Any]:
        return self._spec(name).info()

    # -- time --------------------------------------------------------------------------------------
    @property
    def time(self) -> float:
        """Simulated seconds since start of the values `read()` returns."""
        with self._lock:
            return self._time

    @property
    def timestamp(self) -> str:
        with self._lock:
            return format_ms(self.start_ms + round(self._time * 1000))

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Refuse writes from now on (the owner stops stepping); the values stay readable."""
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._paused = False

    def step(self, scans: int = 1) -> float:
        """Advance `scans` PLC scans (scan_period each); returns the new simulated time."""
        if isinstance(scans, bool) or not isinstance(scans, int) or scans < 0:
            raise SimulationParamError("scans", "must be a non-negative integer")
        with self._lock:
            for _ in range(scans):
                self._scan()
            return self._time

    def advance(self, seconds: float) -> float:
        """Advance by whole scans covering `seconds` (rounded to the nearest scan)."""
        return self.step(max(0, round(seconds / self.scan_period)))

    def _scan(self) -> None:
        sim = self._sim
        self._time = sim.time
        row = sim.scan()
        columns = self.table.columns
        self._values = {t.name: (bool(v) if t.is_bool else float(v)) for t, v in zip(columns, row, strict=False)}
        # The quality codes follow the tags in the row, one per sensor (core.sensors).
        self._quality = {t.name: int(q) for t, q in zip(self.table.sensors, row[len(columns):], strict=False)}

    # -- reads and writes --------------------------------------------------------------------------
    def read(self, names: Iterable[str] | None = None) -> dict[str, Value]:
        """Current values (all tags, or the named ones) as the HMI sees them."""
        with self._lock:
            if names is None:
                return dict(self._values)
            return {n: self._values[self._spec(n).name] for n in names}

    def quality(self) -> dict[str, int]:
        """The quality code of every sensor's current reading (`core.sensors`: 0 good .. 3 bad)."""
        with self._lock:
            return dict(self._quality)

    def read_tag(self, name: str) -> Value:
        return self.read([name])[name]

    def write(self, name: str, value: Any) -> Value:
        """Write a setpoint, parameter, mode, command or manual actuator value; returns the stored value."""
        spec = self._spec(name)
        if not spec.writable:
            raise ReadOnlyTagError(name, f"{name} is a read-only {spec.role} tag")
        stored = self._coerce(spec, value)
        with self._lock:
            if self._paused:
                raise PlantPausedError(name, f"the {self.name} plant is paused: resume it before writing")
            self._sim.set_value(name, stored)
            if spec.role != "actuator":
                self._values[name] = stored
        return stored

    def write_many(self, values: Mapping[str, Any]) -> dict[str, Value]:
        """Validate every value first, then write them all (no partial writes on a bad value)."""
        checked = {}
        for name, value in values.items():
            spec = self._spec(name)
            if not spec.writable:
                raise ReadOnlyTagError(name, f"{name} is a read-only {spec.role} tag")
            checked[name] = self._coerce(spec, value)
        with self._lock:  # paused or not for the whole request: no partial writes
            return {name: self.write(name, value) for name, value in checked.items()}

    def snapshot(self) -> dict[str, Any]:
        """Time, values and which attacks are active now (for adapters and the UI)."""
        with self._lock:
            atk = self._sim.attacks
            active = []
            if atk is not None:
                i = self._sim.i - 1
                active = sorted({e.scenario.attack_id for e in atk.effects if e.s0 <= i < e.e0})
            return {"time": self._time, "timestamp": self.timestamp, "values": dict(self._values),
                    "quality": dict(self._quality),
                    "active_attacks": active}

    def _spec(self, name: str) -> TagSpec:
        spec = self.table.by_name.get(name) if isinstance(name, str) else None
        if spec is None:
            raise UnknownTagError(str(name), f"unknown tag for plant '{self.name}'")
        return spec

    @staticmethod
    def _coerce(spec: TagSpec, value: Any) -> Value:
        if spec.is_bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, int | float) and value in (0, 1):
                return bool(value)
            raise TagValueError(spec.name, "boolean tag: write true/false or 0/1")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise TagValueError(spec.name, "must be a finite number")
        if not spec.low <= value <= spec.high:
            raise TagValueError(spec.name, f"must be within {spec.low:g}..{spec.high:g} {spec.unit}".rstrip())
        return float(value)
