"""Attack scenarios: explicit ones from a request, and a deterministic planner from an attack mix.

A scenario is one attack: a technique, a start and a duration (seconds from the start of the run),
the tags it targets and a magnitude per target. The planner turns `{technique, count, intensity}`
items plus a seed into such scenarios, spaced out with normal operation before, between and after
them, so two requests with the same mix and seed always get the same attacks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulators.attacks.techniques import CATALOGUE, Technique, resolve_technique
from simulators.core.params import coerce_number
from simulators.core.tags import TagSpec, TagTable
from simulators.errors import SimulationParamError

PLANNER_STREAM = 0xA77AC  # spawn key of the planner's generator, apart from the instances' streams
MAX_SCENARIOS = 1000
WARMUP_S = 600.0  # normal operation before the first planned attack (capped at 20 % of the run)
RECOVERY_S = 300.0  # minimum normal operation after each planned attack
SCENARIO_FIELDS = {"id", "technique", "start", "duration", "targets", "magnitude", "options"}
MIX_FIELDS = {"technique", "count", "intensity", "targets", "stealthy"}
STEALTHY_DURATION = 2.0  # a stealthy attack works slower: its planned duration is this much longer


@dataclass(frozen=True)
class AttackScenario:
    attack_id: str
    technique: str  # catalogue key
    start: float
    duration: float
    targets: tuple[str, ...]
    magnitude: tuple[float | None, ...]
    options: tuple[tuple[str, float], ...] = ()
    stealthy: bool = False  # planned to stay inside the normal ranges and raise no alarm

    @property
    def spec(self) -> Technique:
        return CATALOGUE[self.technique]

    @property
    def end(self) -> float:
        return self.start + self.duration

    def option(self, name: str, default: float) -> float:
        return dict(self.options).get(name, default)

    def to_dict(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "attack_id": self.attack_id,
            "technique": spec.attck_id,
            "attack_type": spec.key,
            "name": spec.name,
            "stage": spec.stage,
            "start_s": self.start,
            "duration_s": self.duration,
            "end_s": self.end,
            "targets": list(self.targets),
            "magnitude": list(self.magnitude),
            "options": dict(self.options),
            "stealthy": self.stealthy,
        }


def _targets_ok(spec: Technique, tag: TagSpec) -> str | None:
    if tag.role not in spec.roles:
        return f"{spec.key} applies to {', '.join(sorted(spec.roles))} tags; {tag.name} is a {tag.role}"
    if spec.analog_only and tag.is_bool:
        return f"{spec.key} needs an analog tag; {tag.name} is boolean"
    if spec.key == "unauthorized_command" and not tag.writable:
        return f"{tag.name} is not writable"
    return None


def _magnitude(spec: Technique, tag: TagSpec, raw: Any, field: str) -> float | None:
    mode = spec.magnitude
    if mode == "none" or (spec.key == "man_in_the_middle" and tag.is_bool):
        return None
    if raw is None:
        raise SimulationParamError(field, f"{spec.key} needs a magnitude ({mode}) for {tag.name}")
    value = coerce_number(raw, field)
    if tag.is_bool and (mode == "value" or spec.stage == "view"):
        if value not in (0.0, 1.0):
            raise SimulationParamError(field, f"{tag.name} is boolean: magnitude must be 0 or 1")
    elif mode == "value" and not tag.low <= value <= tag.high:
        raise SimulationParamError(field, f"must be within the range of {tag.name}: {tag.low:g}..{tag.high:g}")
    return value


def _object_fields(item: Any, where: str, allowed: set[str]) -> Mapping[str, Any]:
    """`item` as a mapping with no field outside `allowed`: a misspelt field must fail, not be ignored."""
    if not isinstance(item, Mapping):
        raise SimulationParamError(where, "must be an object")
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise SimulationParamError(f"{where}.{unknown[0]}", "unknown field")
    return item


def _target_names(raw: Any, where: str) -> Sequence[Any]:
    """The `targets` field as a non-empty list; a single tag name may be given as a plain string."""
    targets = [raw] if isinstance(raw, str) else raw
    if not isinstance(targets, Sequence) or not targets:
        raise SimulationParamError(f"{where}.targets", "must be a non-empty list of tag names")
    return targets


def _target_tag(spec: Technique, table: TagTable, name: Any, field: str) -> TagSpec:
    """The plant tag `name` names, checked against what `spec` can attack. Explicit scenarios and mix
    items both name targets; they share this check so the two accept and reject the same tags."""
    tag = table.by_name.get(name) if isinstance(name, str) else None
    if tag is None:
        raise SimulationParamError(field, f"unknown tag {name!r}")
    problem = _targets_ok(spec, tag)
    if problem:
        raise SimulationParamError(field, problem)
    return tag


def _scenario_window(item: Mapping[str, Any], where: str, run_duration: float) -> tuple[float, float]:
    """Start and duration in seconds; the attack must start inside the run (it may run past its end)."""
    start = coerce_number(item.get("start"), f"{where}.start") if "start" in item else None
    if start is None or start < 0 or start >= run_duration:
        raise SimulationParamError(f"{where}.start", f"must be a number of seconds in [0, {run_duration:g})")
    duration = coerce_number(item.get("duration"), f"{where}.duration") if "duration" in item else -1.0
    if duration <= 0:
        raise SimulationParamError(f"{where}.duration", "must be a positive number of seconds")
    return start, duration


def _raw_magnitudes(raw: Any, n_targets: int, where: str) -> list[Any]:
    """One raw magnitude per target: a list must match the targets one to one; a single value applies to all."""
    if isinstance(raw, Sequence) and not isinstance(raw, str):
        if len(raw) != n_targets:
            raise SimulationParamError(f"{where}.magnitude", "needs one value per target")
        return list(raw)
    return [raw] * n_targets


def _attack_id(item: Mapping[str, Any], index: int, where: str) -> str:
    """The scenario's id, `A001`-style by position when not given. Ids end up in label columns joined
    by ';', hence the ban on ';' (uniqueness across scenarios is checked by `parse_scenarios`)."""
    attack_id = item.get("id", f"A{index + 1:03d}")
    if not isinstance(attack_id, str) or not 0 < len(attack_id) <= 64 or ";" in attack_id:
        raise SimulationParamError(f"{where}.id", "must be 1-64 characters without ';'")
    return attack_id


def _parse_scenario(raw_item: Any, index: int, table: TagTable, run_duration: float, field: str) -> AttackScenario:
    """One explicit scenario, checked field by field in a fixed order so the first error reported is stable."""
    where = f"{field}[{index}]"
    item = _object_fields(raw_item, where, SCENARIO_FIELDS)
    spec = resolve_technique(item.get("technique"), f"{where}.technique")
    start, duration = _scenario_window(item, where, run_duration)
    targets = _target_names(item.get("targets"), where)
    if len(set(map(str, targets))) != len(targets):
        raise SimulationParamError(f"{where}.targets", "lists a tag twice")
    mags = _raw_magnitudes(item.get("magnitude"), len(targets), where)
    names: list[str] = []
    values: list[float | None] = []
    for j, name in enumerate(targets):
        tag = _target_tag(spec, table, name, f"{where}.targets[{j}]")
        names.append(tag.name)
        values.append(_magnitude(spec, tag, mags[j], f"{where}.magnitude"))
    options = _parse_options(spec, item.get("options"), f"{where}.options")
    attack_id = _attack_id(item, index, where)
    return AttackScenario(attack_id, spec.key, start, duration, tuple(names), tuple(values), options)


def parse_scenarios(raw: Any, table: TagTable, run_duration: float, field: str = "attacks") -> list[AttackScenario]:
    """Validate explicit scenarios from a request."""
    if raw is None:
        return []
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise SimulationParamError(field, "must be a list of attack scenarios")
    if len(raw) > MAX_SCENARIOS:
        raise SimulationParamError(field, f"at most {MAX_SCENARIOS} scenarios")
    out: list[AttackScenario] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        scenario = _parse_scenario(item, i, table, run_duration, field)
        if scenario.attack_id in seen:  # each label must name one attack
            raise SimulationParamError(f"{field}[{i}].id", f"duplicate id {scenario.attack_id!r}")
        seen.add(scenario.attack_id)
        out.append(scenario)
    return out


def _parse_options(spec: Technique, raw: Any, field: str) -> tuple[tuple[str, float], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise SimulationParamError(field, "must be an object")
    out: list[tuple[str, float]] = []
    for key in sorted(raw):
        if key not in spec.options:
            allowed = ", ".join(spec.options) or "none"
            raise SimulationParamError(f"{field}.{key}", f"unknown option for {spec.key}; allowed: {allowed}")
        value = coerce_number(raw[key], f"{field}.{key}")
        if key == "period" and value <= 0:
            raise SimulationParamError(f"{field}.{key}", "must be positive")
        if key == "duty" and not 0.0 < value < 1.0:
            raise SimulationParamError(f"{field}.{key}", "must be between 0 and 1 (exclusive)")
        out.append((key, value))
    return tuple(out)


# -- planner ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MixItem:
    technique: Technique
    count: int
    intensity: float
    targets: tuple[str, ...] | None
    stealthy: bool = False


def _parse_mix_item(raw_entry: Any, index: int, table: TagTable, default_intensity: float,
                    field: str, default_stealthy: bool = False) -> MixItem:
    """One mix entry; a bare string is a technique with the default count and intensity."""
    where = f"{field}[{index}]"
    entry = _object_fields({"technique": raw_entry} if isinstance(raw_entry, str) else raw_entry, where, MIX_FIELDS)
    spec = resolve_technique(entry.get("technique"), f"{where}.technique")
    count = entry.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise SimulationParamError(f"{where}.count", "must be a non-negative integer")
    intensity = coerce_number(entry.get("intensity", default_intensity), f"{where}.intensity")
    if not 0.0 <= intensity <= 1.0:
        raise SimulationParamError(f"{where}.intensity", "must be between 0 and 1")
    targets = None
    if entry.get("targets") is not None:
        names = _target_names(entry["targets"], where)
        for j, name in enumerate(names):
            _target_tag(spec, table, name, f"{where}.targets[{j}]")
        targets = tuple(names)
    stealthy = entry.get("stealthy", default_stealthy)
    if not isinstance(stealthy, bool):
        raise SimulationParamError(f"{where}.stealthy", "must be true or false")
    return MixItem(spec, count, intensity, targets, stealthy)


def parse_mix(raw: Any, table: TagTable, default_intensity: float, field: str = "mix",
              default_stealthy: bool = False) -> list[MixItem]:
    """`[{technique, count, intensity, targets?, stealthy?}, ...]` or `{technique: count}`."""
    if isinstance(raw, Mapping):
        raw = [{"technique": k, "count": v} for k, v in raw.items()]
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes) or not raw:
        raise SimulationParamError(field, "must be a non-empty list of {technique, count, intensity}")
    items = [_parse_mix_item(entry, i, table, default_intensity, field, default_stealthy)
             for i, entry in enumerate(raw)]
    total = sum(item.count for item in items)
    if total == 0:
        raise SimulationParamError(field, "asks for no attacks (all counts are 0)")
    if total > MAX_SCENARIOS:
        raise SimulationParamError(field, f"at most {MAX_SCENARIOS} attacks in all")
    return items


def candidate_targets(spec: Technique, table: TagTable,
                      control_sensors: frozenset[str] = frozenset()) -> list[TagSpec]:
    """Tags the planner may pick for `spec`: meaningful ones only (no totalisers, no momentary reset).
    A reading attack at the PLC (field stage) picks among `control_sensors` when the plant names them: a
    forged reading the PLC program never reads changes nothing in the process."""
    out = []
    for tag in table.columns:
        if _targets_ok(spec, tag) or tag.momentary:
            continue
        if tag.role == "sensor" and tag.normal is None:
            continue
        if tag.role == "sensor" and "field" in spec.stage and control_sensors and tag.name not in control_sensors:
            continue
        if spec.stage == "view" and (tag.is_bool or tag.role not in ("sensor", "actuator")):
            continue
        if spec.key == "unauthorized_command" and not tag.is_bool:
            continue
        out.append(tag)
    return out


def _planned_magnitude(spec: Technique, tag: TagSpec, intensity: float, rng: np.random.Generator,
                       stealthy: bool = False) -> float | None:
    """The intensity scale (docs/simulators.md, attacks): intensity i in 0..1 sets how far from normal.

    Visible (default): offsets of (10 + 30 i) % of the transmitter span; written or forced values
    (0.4 + 0.6 i) of the way from the middle of the normal range to an end of the tag's range, and
    a trip limit moved across the normal operating point (a nuisance trip).
    Stealthy: offsets of (10 + 30 i) % of the normal band's width; values (0.3 + 0.6 i) of the way
    to the edge of the normal range, never past it; a trip limit moved away from the process (the
    protection silently disabled)."""
    if spec.magnitude == "none" or (spec.key == "man_in_the_middle" and tag.is_bool):
        rng.random()  # keep the stream aligned whatever the technique
        return None
    side = rng.random()
    if tag.is_bool:
        return 0.0 if tag.default >= 0.5 else 1.0
    lo, hi = tag.normal_range
    if spec.magnitude == "offset":
        sign = 1.0 if side < 0.5 else -1.0
        if stealthy:
            return round(sign * (0.1 + 0.3 * intensity) * (hi - lo), 6)
        return round(sign * (0.1 + 0.3 * intensity) * (tag.high - tag.low), 6)
    mid = 0.5 * (lo + hi)
    low_side = side < 0.5
    if tag.role == "parameter":  # trip limits: a low-low limit trips when raised, the others when lowered
        low_side = tag.name.endswith(".LL") == stealthy
    if stealthy:
        return round(mid + (0.3 + 0.6 * intensity) * ((lo if low_side else hi) - mid), 6)
    return round(mid + (0.4 + 0.6 * intensity) * ((tag.low if low_side else tag.high) - mid), 6)


def plan_scenarios(
    table: TagTable,
    mix: list[MixItem],
    duration: float,
    seed: int,
    grid: float,
    field: str = "mix",
    control_sensors: frozenset[str] = frozenset(),
) -> list[AttackScenario]:
    """Lay the mix out over the run: warm-up, then each attack followed by at least its recovery time,
    the slack spread at random; starts and durations land on the sample grid `grid` (s)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(PLANNER_STREAM,)))
    jobs = [item for item in mix for _ in range(item.count)]
    order = rng.permutation(len(jobs))
    jobs = [jobs[k] for k in order]

    def snap(seconds: float) -> float:
        return max(grid, math.floor(seconds / grid + 1e-9) * grid)

    durations = []
    for item in jobs:
        lo, hi = item.technique.duration_range
        slow = STEALTHY_DURATION if item.stealthy else 1.0
        durations.append(snap((lo + item.intensity * (hi - lo)) * slow * rng.uniform(0.8, 1.2)))
    recoveries = [snap(max(RECOVERY_S, d)) for d in durations]
    warmup = snap(min(WARMUP_S, 0.2 * duration))
    need = warmup + sum(durations) + sum(recoveries)
    if need > duration:
        raise SimulationParamError(
            field, f"{len(jobs)} attacks need a run of at least {need:g} s; duration is {duration:g} s"
        )
    weights = rng.dirichlet(np.ones(len(jobs) + 1))
    slack = (duration - need) * weights
    scenarios: list[AttackScenario] = []
    t = warmup + slack[0]
    for k, item in enumerate(jobs):
        start = math.floor(t / grid + 1e-9) * grid
        spec = item.technique
        candidates = (
            [table.by_name[name] for name in item.targets] if item.targets
            else candidate_targets(spec, table, control_sensors)
        )
        if not candidates:
            raise SimulationParamError(f"{field}", f"this plant has no tag that {spec.key} can target")
        tag = candidates[int(rng.integers(len(candidates)))]
        magnitude = _planned_magnitude(spec, tag, item.intensity, rng, item.stealthy)
        scenarios.append(AttackScenario("", spec.key, float(start), float(durations[k]), (tag.name,), (magnitude,),
                                        stealthy=item.stealthy))
        t = start + durations[k] + recoveries[k] + slack[k + 1]
    return [
        AttackScenario(f"A{i + 1:03d}", s.technique, s.start, s.duration, s.targets, s.magnitude, s.options,
                       s.stealthy)
        for i, s in enumerate(sorted(scenarios, key=lambda s: s.start))
    ]
