"""Attacks added to a running `LivePlant`, and the scenarios a live run labels its rows with.

`LivePlant` takes its attack scenarios at construction and has no method to add one later, nor to
list them. A live run needs both (an operator starts an attack on a running rig; the recording
labels rows with each attack's id, ATT&CK technique and type), so this module does it from outside,
and is the only place in this package that touches `LivePlant` internals (`_lock`, `_sim`):

* the new scenario is validated by the same `parse_scenarios` as a request's, with its start
  taken as "now" (the next scan) plus an optional `delay`;
* it is compiled by `compile_scenario` and its effects are merged into the simulation's
  `AttackRuntime` (made if the plant had none); `next_event` is set to the next scan so the runtime
  re-evaluates its active lists there;
* a replay attack needs the readings of the scans before it, which the runtime only records for
  scenarios known in advance: the caller's recent rows (`history`) fill its tape instead.

The change wanted in `LivePlant` is an `inject_attack(spec)` and a `scenarios()` that do this under
its own lock; this module would then shrink to a call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from simulators.attacks.apply import AttackRuntime, Replay, compile_scenario, scan_window
from simulators.attacks.scenario import AttackScenario, parse_scenarios
from simulators.core.params import coerce_number
from simulators.errors import SimulationParamError
from simulators.live import LivePlant

SPEC_FIELDS = frozenset({"id", "technique", "delay", "start", "duration", "targets", "magnitude", "options"})


def scenarios(plant: LivePlant) -> list[AttackScenario]:
    """Every scenario of the plant, in the order it was given or injected."""
    with plant._lock:
        atk = plant._sim.attacks
        found: dict[str, AttackScenario] = {}
        if atk is not None:
            for effect in atk.effects:
                found.setdefault(effect.scenario.attack_id, effect.scenario)
        return list(found.values())


def inject(plant: LivePlant, spec: Mapping[str, Any], history: Sequence[Mapping[str, Any]] = (),
           field: str = "attack") -> AttackScenario:
    """Add one attack to a running plant. `spec` is a request's attack scenario where `start` (run
    seconds) may be left out for "at the next scan" or replaced by `delay` (seconds from now).
    `history`: the rows of the most recent scans, oldest first, the last one being the current scan."""
    if not isinstance(spec, Mapping):
        raise SimulationParamError(field, "must be an object")
    unknown = sorted(set(spec) - SPEC_FIELDS)
    if unknown:
        raise SimulationParamError(f"{field}.{unknown[0]}", "unknown field")
    with plant._lock:
        sim = plant._sim
        period = sim.scan_period
        now_scan = sim.i  # index of the next scan; its time is the earliest start
        now_s = now_scan * period
        item = {k: v for k, v in spec.items() if k != "delay"}
        if "delay" in spec and "start" in spec:
            raise SimulationParamError(f"{field}.delay", "give either start or delay")
        if "start" in spec:
            start = coerce_number(spec["start"], f"{field}.start")
            if start < now_s - 1e-9:
                raise SimulationParamError(f"{field}.start", f"is in the past: the run is at {now_s:g} s")
        else:
            delay = coerce_number(spec.get("delay", 0.0), f"{field}.delay")
            if delay < 0:
                raise SimulationParamError(f"{field}.delay", "must be >= 0 seconds")
            start = now_s + delay
        item["start"] = start
        existing = scenarios(plant)
        taken = {s.attack_id for s in existing}
        if "id" not in item:
            n = len(existing) + 1
            while f"A{n:03d}" in taken:
                n += 1
            item["id"] = f"A{n:03d}"
        elif item["id"] in taken:
            raise SimulationParamError(f"{field}.id", f"duplicate id {item['id']!r}")
        try:
            (scenario,) = parse_scenarios([item], plant.table, math.inf, field=field)
        except SimulationParamError as exc:
            raise SimulationParamError(exc.field.replace(f"{field}[0]", field), exc.message) from None
        effects = compile_scenario(scenario, plant.table, period, sim.ops)
        _fill_replay_tapes(effects, scenario, now_scan, history)
        atk = sim.attacks
        if atk is None:
            atk = sim.attacks = AttackRuntime([], plant.table, period, sim.ops)
        atk.effects.extend(effects)
        bounds = set(atk.boundaries)
        for e in effects:
            bounds.update((e.s0, e.e0))
        atk.boundaries = sorted(bounds)
        atk.next_event = now_scan
        return scenario


def _fill_replay_tapes(effects: Sequence[Any], scenario: AttackScenario, now_scan: int,
                       history: Sequence[Mapping[str, Any]]) -> None:
    for effect in effects:
        if not isinstance(effect, Replay) or effect.r0 >= now_scan:
            continue
        first = now_scan - len(history)  # scan index of history[0]
        hi = min(effect.s0, now_scan)
        for scan in range(max(effect.r0, first), hi):
            row = history[scan - first]
            effect.tape.append([row[name] for name in scenario.targets])


def window(scenario: AttackScenario, scan_period: float) -> tuple[int, int]:
    """Scans [s0, e0) the scenario labels."""
    return scan_window(scenario, scan_period)
