"""Validation of `simulate` and `scenario_fabricate` job parameters into one immutable request.

The appliance calls `prepare_*` when a job is submitted, so a bad request is refused with a 400
that names the field (`SimulationParamError.field`) before anything is queued, and again in the
worker, which then runs exactly the validated request. Every default is filled in here, so the
manifest can record the complete request that produced a dataset.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from simulators.attacks.scenario import AttackScenario, parse_mix, parse_scenarios, plan_scenarios
from simulators.core.params import coerce_number, resolve_params
from simulators.core.sensors import SensorOptions
from simulators.errors import SimulationParamError
from simulators.plants.base import PlantModel
from simulators.plants.registry import get_plant
from simulators.profiles import PROFILES

DEFAULT_START = "2024-01-01T00:00:00Z"
MAX_DURATION_S = 366 * 86400.0
MAX_SAMPLE_RATE_HZ = 100.0
MAX_INSTANCES = 10_000
MAX_ROWS = 500_000_000
DATASET_FORMATS = ("parquet", "csv")
SCAN_COST_S = {"water": 4e-5, "chemical": 3e-5, "power": 8e-5}  # pessimistic wall time per scan, 1 instance

COMMON_FIELDS = frozenset({
    "plant", "duration", "sample_rate", "scan_period", "seed", "params", "sensors", "instances",
    "start_time", "include_truth", "format", "profile",
})
SIMULATE_FIELDS = COMMON_FIELDS | {"attacks"}
FABRICATE_FIELDS = COMMON_FIELDS | {"mix", "intensity", "stealthy"}


@dataclass(frozen=True)
class SimulationRequest:
    kind: str
    plant: str
    params: dict[str, float]
    duration: float
    sample_rate: float
    sample_ms: int
    scan_ms: int
    seed: int
    instances: int
    start_ms: int
    sensors: SensorOptions
    scenarios: tuple[AttackScenario, ...]
    include_truth: bool
    format: str
    mix: tuple[dict[str, Any], ...] | None = None
    intensity: float | None = None
    profile: str = "native"

    @property
    def plant_cls(self) -> type[PlantModel]:
        return get_plant(self.plant)

    @property
    def scan_period(self) -> float:
        return self.scan_ms / 1000.0

    @property
    def sample_period(self) -> float:
        return self.sample_ms / 1000.0

    @property
    def every(self) -> int:
        """Scans per recorded row."""
        return self.sample_ms // self.scan_ms

    @property
    def rows_per_instance(self) -> int:
        return math.ceil(self.duration * 1000.0 / self.sample_ms - 1e-9)

    @property
    def total_rows(self) -> int:
        return self.rows_per_instance * self.instances

    @property
    def scans(self) -> int:
        """Scans to run: up to and including the last recorded one."""
        return (self.rows_per_instance - 1) * self.every + 1

    @property
    def start_time(self) -> str:
        return format_ms(self.start_ms)

    def estimate(self) -> dict[str, float]:
        """Rows (for credits) and a deliberately pessimistic run time on one slow core, from
        bench/sim.py figures (single instance ~20-40 us/scan; +~4 us per extra vectorised instance)."""
        per_scan = SCAN_COST_S.get(self.plant, 5e-5)
        if self.instances > 1:
            per_scan = 3 * per_scan + 8e-6 * self.instances
        return {"rows": float(self.total_rows), "seconds": round(self.scans * per_scan + 0.5, 1)}

    def contract(self) -> dict[str, Any]:
        """The complete, normalised request (every default filled in), as recorded in the manifest."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "plant": self.plant,
            "duration": self.duration,
            "sample_rate": self.sample_rate,
            "scan_period": self.scan_period,
            "seed": self.seed,
            "instances": self.instances,
            "start_time": self.start_time,
            "sensors": self.sensors.to_dict(),
            "include_truth": self.include_truth,
            "format": self.format,
            "params": dict(self.params),
        }
        if self.profile != "native":  # absent when native, so native contracts stay as they were
            out["profile"] = self.profile
        if self.mix is not None:
            out["mix"] = [dict(m) for m in self.mix]
            out["intensity"] = self.intensity
        else:
            out["attacks"] = [s.to_dict() for s in self.scenarios]
        return out


def format_ms(ms: int) -> str:
    """RFC 3339 UTC with milliseconds."""
    return datetime.fromtimestamp(ms / 1000.0, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(raw: Any, field: str) -> int:
    if not isinstance(raw, str):
        raise SimulationParamError(field, "must be an RFC 3339 time, e.g. 2024-01-01T00:00:00Z")
    try:
        parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise SimulationParamError(field, "must be an RFC 3339 time, e.g. 2024-01-01T00:00:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    ms = round(parsed.timestamp() * 1000)
    if not 0 <= ms < 253402300800000:
        raise SimulationParamError(field, "must be between 1970 and 9999")
    return ms


def _int(raw: Any, field: str, low: int, high: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise SimulationParamError(field, "must be an integer")
    if not low <= raw <= high:
        raise SimulationParamError(field, f"must be between {low} and {high}")
    return raw


def _whole_ms(seconds: float, field: str) -> int:
    ms = seconds * 1000.0
    if abs(ms - round(ms)) > 1e-6 * max(1.0, ms):
        raise SimulationParamError(field, "must be a whole number of milliseconds")
    return round(ms)


def _common(raw: Mapping[str, Any], kind: str, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise SimulationParamError("params", "must be an object")
    for key in raw:
        if key not in allowed:
            hint = "; explicit attacks belong to simulate" if key == "attacks" else ""
            raise SimulationParamError(str(key), f"unknown field for {kind}{hint}")
    if "plant" not in raw:
        raise SimulationParamError("plant", "is required")
    plant = get_plant(raw["plant"])
    if "duration" not in raw:
        raise SimulationParamError("duration", "is required (seconds)")
    duration = coerce_number(raw["duration"], "duration")
    if duration <= 0:
        raise SimulationParamError("duration", "must be positive (seconds)")
    if duration > MAX_DURATION_S:
        raise SimulationParamError("duration", f"must be at most {MAX_DURATION_S:g} s (366 days)")
    rate = coerce_number(raw.get("sample_rate", 1.0), "sample_rate")
    if not 0 < rate <= MAX_SAMPLE_RATE_HZ:
        raise SimulationParamError("sample_rate", f"must be in (0, {MAX_SAMPLE_RATE_HZ:g}] Hz")
    sample_ms = _whole_ms(1.0 / rate, "sample_rate")
    if sample_ms > 86_400_000:
        raise SimulationParamError("sample_rate", "must be at least one row a day")
    if raw.get("scan_period") is None:
        scan_ms = sample_ms if sample_ms <= 1000 else math.gcd(sample_ms, 1000)
        if scan_ms < 10:
            raise SimulationParamError("sample_rate", "slow rates need a period that is a multiple of 10 ms")
    else:
        scan = coerce_number(raw["scan_period"], "scan_period")
        if not 0.01 <= scan <= 10.0:
            raise SimulationParamError("scan_period", "must be between 0.01 and 10 s")
        scan_ms = _whole_ms(scan, "scan_period")
    if sample_ms % scan_ms:
        raise SimulationParamError("scan_period", "the sample period (1/sample_rate) must be a whole number of scans")
    seed = _int(raw.get("seed", 0), "seed", 0, 2**63 - 1)
    instances = _int(raw.get("instances", 1), "instances", 1, MAX_INSTANCES)
    start_ms = parse_time(raw.get("start_time", DEFAULT_START), "start_time")
    truth = raw.get("include_truth", False)
    if not isinstance(truth, bool):
        raise SimulationParamError("include_truth", "must be true or false")
    profile = raw.get("profile", "native")
    if profile not in PROFILES:
        raise SimulationParamError("profile", f"must be one of {', '.join(PROFILES)}")
    fmt = raw.get("format", "parquet" if profile == "native" else "csv")
    if fmt not in DATASET_FORMATS:
        raise SimulationParamError("format", f"must be one of {', '.join(DATASET_FORMATS)}")
    if profile != "native" and fmt != "csv":
        raise SimulationParamError("format", f"the {profile} profile writes CSV, as the public {profile} files are")
    out = {
        "kind": kind,
        "plant": plant.name,
        "params": resolve_params(plant.PARAMS, raw.get("params"), f"plant '{plant.name}'"),
        "duration": duration,
        "sample_rate": rate,
        "sample_ms": sample_ms,
        "scan_ms": scan_ms,
        "seed": seed,
        "instances": instances,
        "start_ms": start_ms,
        "sensors": SensorOptions.parse(raw.get("sensors")),
        "include_truth": truth,
        "format": fmt,
        "profile": profile,
    }
    rows = math.ceil(duration * 1000.0 / sample_ms - 1e-9) * instances
    if rows > MAX_ROWS:
        raise SimulationParamError("duration", f"asks for {rows} rows; the limit is {MAX_ROWS}")
    return out


def prepare_simulate(raw: Mapping[str, Any]) -> SimulationRequest:
    """Validate `simulate` params: {plant, duration, sample_rate, params, seed, attacks?, ...}."""
    base = _common(raw, "simulate", SIMULATE_FIELDS)
    table = get_plant(base["plant"]).tag_table()
    scenarios = parse_scenarios(raw.get("attacks"), table, base["duration"])
    return SimulationRequest(scenarios=tuple(scenarios), **base)


def prepare_scenario_fabricate(raw: Mapping[str, Any]) -> SimulationRequest:
    """Validate `scenario_fabricate` params and plan the attacks from {mix, intensity, seed}."""
    base = _common(raw, "scenario_fabricate", FABRICATE_FIELDS)
    table = get_plant(base["plant"]).tag_table()
    intensity = coerce_number(raw.get("intensity", 0.5), "intensity")
    if not 0.0 <= intensity <= 1.0:
        raise SimulationParamError("intensity", "must be between 0 and 1")
    if "mix" not in raw:
        raise SimulationParamError("mix", "is required: a list of {technique, count, intensity}")
    stealthy = raw.get("stealthy", False)
    if not isinstance(stealthy, bool):
        raise SimulationParamError("stealthy", "must be true or false")
    items = parse_mix(raw["mix"], table, intensity, default_stealthy=stealthy)
    grid = base["sample_ms"] / 1000.0
    plant = get_plant(base["plant"])
    scenarios = plan_scenarios(table, items, base["duration"], base["seed"], grid,
                               control_sensors=frozenset(plant.CONTROL_SENSORS))
    mix = tuple(
        {"technique": i.technique.key, "count": i.count, "intensity": i.intensity,
         **({"targets": list(i.targets)} if i.targets else {}), **({"stealthy": True} if i.stealthy else {})}
        for i in items
    )
    return SimulationRequest(scenarios=tuple(scenarios), mix=mix, intensity=intensity, **base)
