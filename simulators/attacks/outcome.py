"""What each attack was meant to do to the process, and whether the run shows it did.

A label says when an attack acted; a researcher also needs to know whether it did anything a
plant would notice. Each scenario gets an intended physical effect by stage and mode, and the
engine checks it against a counterfactual: at the attack's first scan the run is copied without
its attacks (same state, same noise and disturbances, same schedules) and the copy runs beside it
for the attack and its recovery time. The plant's process variables (levels, temperatures,
concentrations, voltages: `PlantModel.PROCESS_VARIABLES`) are compared between the two.

* visible (the default): the attack should move the process or make the PLC raise an alarm or
  trip. Reached when, on every instance, a process variable's true value departed from the
  counterfactual by at least a tenth of its normal band (0.2 m on LIT101), or a status tag (alarm,
  trip, lockout) rose that was not up when the attack began;
* stealthy: the attack should move the process while no alarm or trip rises. Reached when a
  process variable departed as above and no status rose on any instance;
* view only (manipulation_of_view): the process is untouched by design; `reached` is null.

Evidence is recorded in seconds from the attack's start, in the tags' units.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from simulators.attacks.apply import scan_window
from simulators.attacks.scenario import RECOVERY_S, AttackScenario
from simulators.core.tags import TagTable

INTENDED = {
    "field": "the PLC acts on forged readings of {targets}",
    "input": "the PLC runs with {targets} overwritten",
    "manual": "the PLC runs with {targets} overwritten",
    "command": "the field devices {targets} do what the PLC did not command",
    "field+command": "{targets} stop answering",
}


def intended_effect(scenario: AttackScenario) -> str:
    spec = scenario.spec
    targets = ", ".join(scenario.targets)
    if spec.stage == "view":
        return f"the operator is shown false values of {targets}; the process is untouched"
    how = INTENDED.get(spec.stage, "{targets} are attacked").format(targets=targets)
    if scenario.stealthy:
        return f"{how}, and the process drifts while no alarm or trip rises"
    return f"{how}, driving a process variable out of its normal range or raising an alarm or trip"


class _Watch:
    """One scenario's observation window, its counterfactual run and what was seen."""

    def __init__(self, scenario: AttackScenario, s0: int, e0: int, end: int) -> None:
        self.scenario = scenario
        self.s0, self.e0, self.end = s0, e0, end
        self.shadow: Any = None  # the run without attacks from s0 (a Simulation)
        self.st0: list[np.ndarray] = []
        self.st_seen: list[np.ndarray] = []
        self.moved: list[np.ndarray] = []
        self.deviation: list[float] = []
        self.first: dict[str, float] = {}  # tag -> seconds after the start of its first alarm or departure


class OutcomeTracker:
    """Watches each attack window plus its recovery against a counterfactual copy of the run."""

    def __init__(self, scenarios: Sequence[AttackScenario], table: TagTable, scan: float,
                 process_variables: Sequence[str] = ()) -> None:
        self.scan = scan
        self.pv = [(table.sensor(name), name, 0.1 * (table.by_name[name].normal_range[1]
                                                        - table.by_name[name].normal_range[0]))
                   for name in process_variables]
        self.status_names = [t.name for t in table.statuses]
        self.watches: list[_Watch] = []
        for sc in scenarios:
            if sc.spec.stage == "view":
                continue
            s0, e0 = scan_window(sc, scan)
            recovery = math.ceil(max(RECOVERY_S, sc.duration) / scan - 1e-9)
            self.watches.append(_Watch(sc, s0, e0, e0 + recovery))
        self.starts = {w.s0 for w in self.watches}
        self.before: dict[int, list[np.ndarray]] = {}
        self.first_scan = min((w.s0 for w in self.watches), default=math.inf)
        self.last_scan = max((w.end for w in self.watches), default=-1)

    def fork(self, i: int, sim: Any) -> None:
        """At the first scan of an attack (before it runs): copy the run without attacks."""
        if i not in self.starts:
            return
        saved = sim.attacks, sim.tracker
        sim.attacks = sim.tracker = None
        try:
            for w in self.watches:
                if w.s0 == i:
                    w.shadow = copy.deepcopy(sim)
        finally:
            sim.attacks, sim.tracker = saved

    def observe(self, i: int, true: Sequence[Any], statuses: Sequence[Any]) -> None:
        if i + 1 in self.starts:  # the statuses just before an attack: what was already up
            self.before[i + 1] = [np.asarray(s, dtype=bool) for s in statuses]
        if i < self.first_scan or i >= self.last_scan:
            return
        for w in self.watches:
            if not w.s0 <= i < w.end or w.shadow is None:
                continue
            w.shadow.scan()
            base = w.shadow.true
            if i == w.s0:
                before = self.before.pop(i, [])
                w.st0 = before or [np.zeros_like(np.asarray(s, dtype=bool)) for s in statuses]
                w.st_seen = [np.zeros_like(s) for s in w.st0]
                w.moved = [np.zeros_like(w.st0[0]) if w.st0 else np.zeros(1, dtype=bool) for _ in self.pv]
                w.deviation = [0.0] * len(self.pv)
            after = (i - w.s0) * self.scan
            for k, (j, name, threshold) in enumerate(self.pv):
                gap = np.abs(np.asarray(true[j], dtype=float) - np.asarray(base[j], dtype=float))
                w.deviation[k] = max(w.deviation[k], float(np.max(gap)))
                moved = gap >= threshold
                if moved.any():
                    w.moved[k] = w.moved[k] | moved
                    w.first.setdefault(name, after)
            for k, s in enumerate(statuses):
                rose = np.asarray(s, dtype=bool) & ~w.st0[k]
                if rose.any():
                    w.st_seen[k] = w.st_seen[k] | rose
                    w.first.setdefault(self.status_names[k], after)
            if i == w.end - 1:
                w.shadow = None  # done: free the copy

    def outcomes(self) -> dict[str, dict[str, Any]]:
        """Per attack id: intended effect, criterion, reached, and the evidence."""
        out: dict[str, dict[str, Any]] = {}
        for w in self.watches:
            sc = w.scenario
            alarms = [n for n, seen in zip(self.status_names, w.st_seen, strict=True) if seen.any()]
            moved_any = np.zeros_like(w.st0[0]) if w.st0 else np.zeros(1, dtype=bool)
            for seen in w.moved:
                moved_any = moved_any | seen
            reached: bool | None
            if not w.st_seen:  # the run ended before the attack began
                reached = None
            elif sc.stealthy:
                reached = bool(np.all(moved_any)) and not alarms
            else:
                hit = moved_any
                for seen in w.st_seen:
                    hit = hit | seen
                reached = bool(np.all(hit))
            out[sc.attack_id] = {
                "intended": intended_effect(sc),
                "criterion": "moved_without_alarm" if sc.stealthy else "moved_or_alarm",
                "reached": reached,
                "alarms": alarms,
                "max_deviation": {name: round(dev, 6) for (_, name, _), dev in zip(self.pv, w.deviation,
                                                                                    strict=False)},
                "threshold": {name: round(th, 6) for _, name, th in self.pv},
                "first_s": {name: round(t, 6) for name, t in sorted(w.first.items())},
                "watched_s": round((w.end - w.s0) * self.scan, 6),
            }
        return out


def view_outcome(scenario: AttackScenario) -> dict[str, Any]:
    """A view attack's record: nothing physical is meant to happen."""
    return {"intended": intended_effect(scenario), "criterion": "view_only", "reached": None, "alarms": [],
            "max_deviation": {}, "threshold": {}, "first_s": {}, "watched_s": 0.0}
