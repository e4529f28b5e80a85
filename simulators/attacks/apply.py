"""How active attacks change the values flowing through one scan.

Scenarios are compiled once into small effect objects, each bound to one stage of the scan (see
`techniques`) and to the positions of its targets in that stage's value list. The runtime keeps
per-stage lists of the effects active now and rebuilds them only at scans where some attack
starts or ends, so a scan with no attack running pays one integer comparison.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from simulators.attacks.scenario import AttackScenario
from simulators.core.ops import Ops
from simulators.core.tags import TagSpec, TagTable


def scan_window(scenario: AttackScenario, scan_period: float) -> tuple[int, int]:
    """Scans [s0, e0) during which the attack acts; a row is labelled exactly when its scan is inside."""
    s0 = math.ceil(scenario.start / scan_period - 1e-9)
    e0 = max(s0 + 1, math.ceil(scenario.end / scan_period - 1e-9))
    return s0, e0


class Effect(ABC):
    """One scenario's action on one stage (`field`, `input`, `manual`, `command` or `view`)."""

    stage = ""

    def __init__(self, scenario: AttackScenario, s0: int, e0: int, slots: list[tuple[int, Any]]) -> None:
        self.scenario = scenario
        self.s0 = s0
        self.e0 = e0
        self.slots = slots  # (position in the stage's list, magnitude or constant)

    def activate(self, ctx: Any) -> None:
        """Called once at scan s0, before the effect first applies; most effects need no set-up."""
        return None

    @abstractmethod
    def apply(self, vals: list[Any], i: int) -> None:
        """Change this scan's values of the effect's stage in place."""


class Offset(Effect):
    def apply(self, vals: list[Any], i: int) -> None:
        for j, m in self.slots:
            vals[j] = vals[j] + m


class Constant(Effect):
    def apply(self, vals: list[Any], i: int) -> None:
        for j, c in self.slots:
            vals[j] = c


class Ramp(Effect):
    def apply(self, vals: list[Any], i: int) -> None:
        frac = (i - self.s0 + 1) / (self.e0 - self.s0)
        for j, m in self.slots:
            vals[j] = vals[j] + m * frac


class Pulse(Effect):
    def __init__(self, scenario: AttackScenario, s0: int, e0: int, slots: list[tuple[int, Any]], scan: float) -> None:
        super().__init__(scenario, s0, e0, slots)
        self.scan = scan
        self.period = scenario.option("period", 10.0)
        self.on = scenario.option("duty", 0.5) * self.period

    def apply(self, vals: list[Any], i: int) -> None:
        if ((i - self.s0) * self.scan) % self.period < self.on - 1e-9:
            for j, m in self.slots:
                vals[j] = vals[j] + m


class HoldReading(Effect):
    """Stuck or stale reading: the last value the PLC got before the attack."""

    def activate(self, ctx: Any) -> None:
        prev = ctx.rd_prev
        self.held = None if prev is None else [prev[j] for j, _ in self.slots]

    def apply(self, vals: list[Any], i: int) -> None:
        if self.held is None:
            self.held = [vals[j] for j, _ in self.slots]
        for (j, _), v in zip(self.slots, self.held, strict=True):
            vals[j] = v


class Replay(Effect):
    """Plays back the readings of the `duration` scans before the attack (fewer if the run is younger)."""

    def __init__(self, scenario: AttackScenario, s0: int, e0: int, slots: list[tuple[int, Any]]) -> None:
        super().__init__(scenario, s0, e0, slots)
        self.r0 = max(0, s0 - (e0 - s0))
        self.tape: list[list[Any]] = []

    def record(self, rd: list[Any]) -> None:
        self.tape.append([rd[j] for j, _ in self.slots])

    def apply(self, vals: list[Any], i: int) -> None:
        if not self.tape:
            return
        frame = self.tape[(i - self.s0) % len(self.tape)]
        for (j, _), v in zip(self.slots, frame, strict=True):
            vals[j] = v


class CommandEffect(Effect):
    stage = "command"

    def apply(self, vals: list[Any], i: int) -> None:
        """With a single list there is no separate view: the command acts on it as both."""
        self.apply2(vals, vals, i)

    @abstractmethod
    def apply2(self, app: list[Any], shown: list[Any], i: int) -> None:
        """Change the commands the process gets (`app`) and those the HMI is shown (`shown`)."""


class ForceCommand(CommandEffect):
    def apply2(self, app: list[Any], shown: list[Any], i: int) -> None:
        for j, c in self.slots:
            app[j] = c
            shown[j] = c


class HoldCommand(CommandEffect):
    def activate(self, ctx: Any) -> None:
        self.held = [ctx.app[j] for j, _ in self.slots]

    def apply2(self, app: list[Any], shown: list[Any], i: int) -> None:
        for (j, _), v in zip(self.slots, self.held, strict=True):
            app[j] = v
            shown[j] = v


class AlterCommand(CommandEffect):
    """Adversary-in-the-middle: the device gets an altered command, the historian the original one."""

    def __init__(self, scenario: AttackScenario, s0: int, e0: int, slots: list[tuple[int, Any]], ops: Ops,
                 bounds: list[tuple[float, float] | None]) -> None:
        super().__init__(scenario, s0, e0, slots)
        self.ops = ops
        self.bounds = bounds

    def apply2(self, app: list[Any], shown: list[Any], i: int) -> None:
        ops = self.ops
        for (j, m), b in zip(self.slots, self.bounds, strict=True):
            app[j] = ops.not_(app[j]) if b is None else ops.clip(app[j] + m, b[0], b[1])


def compile_scenario(scenario: AttackScenario, table: TagTable, scan: float, ops: Ops) -> list[Effect]:
    """One effect per stage the scenario's targets fall in."""
    s0, e0 = scan_window(scenario, scan)
    key = scenario.technique
    groups: dict[str, list[tuple[TagSpec, int, float | None]]] = {}
    for name, mag in zip(scenario.targets, scenario.magnitude, strict=True):
        tag = table.by_name[name]
        if key == "manipulation_of_view":
            group, idx = ("view-set" if tag.is_bool else "view-offset"), table.column_index[name]
        else:
            group, idx = table.group_index[name]
            if group == "actuator" and key == "unauthorized_command":
                group = "manual"
        groups.setdefault(group, []).append((tag, idx, mag))
    effects: list[Effect] = []
    for group, items in groups.items():
        offsets = [(idx, mag) for _, idx, mag in items]
        consts = [
            (idx, None if mag is None else (ops.full_bool(mag) if tag.is_bool else ops.full(mag)))
            for tag, idx, mag in items
        ]
        effect = _make_effect(key, group, scenario, (s0, e0), offsets, consts, [t for t, _, _ in items], scan, ops)
        effects.append(effect)
    return effects


def _make_effect(
    key: str,
    group: str,
    scenario: AttackScenario,
    window: tuple[int, int],
    offsets: list[tuple[int, Any]],
    consts: list[tuple[int, Any]],
    tags: list[TagSpec],
    scan: float,
    ops: Ops,
) -> Effect:
    s0, e0 = window
    effect: Effect
    if group == "view-offset":
        effect, effect.stage = Offset(scenario, s0, e0, offsets), "view"
    elif group == "view-set":
        effect, effect.stage = Constant(scenario, s0, e0, consts), "view"
    elif group in ("input", "manual"):
        effect, effect.stage = Constant(scenario, s0, e0, consts), group
    elif group == "sensor":
        if key == "spoof_reporting_message":
            effect = Offset(scenario, s0, e0, offsets)
        elif key == "ramp_injection":
            effect = Ramp(scenario, s0, e0, offsets)
        elif key == "pulse_injection":
            effect = Pulse(scenario, s0, e0, offsets, scan)
        elif key == "replay":
            effect = Replay(scenario, s0, e0, offsets)
        else:  # sensor_freeze, denial_of_service
            effect = HoldReading(scenario, s0, e0, offsets)
        effect.stage = "field"
    elif key == "manipulation_of_control":
        effect = ForceCommand(scenario, s0, e0, consts)
    elif key == "man_in_the_middle":
        bounds = [None if t.is_bool else (t.low, t.high) for t in tags]
        effect = AlterCommand(scenario, s0, e0, offsets, ops, bounds)
    else:  # denial_of_service on an actuator
        effect = HoldCommand(scenario, s0, e0, offsets)
    return effect


class AttackRuntime:
    """Active effects per stage for the current scan."""

    def __init__(self, scenarios: Sequence[AttackScenario], table: TagTable, scan: float, ops: Ops) -> None:
        self.effects = [e for s in scenarios for e in compile_scenario(s, table, scan, ops)]
        bounds: set[int] = set()
        for e in self.effects:
            bounds.update((e.s0, e.e0))
            if isinstance(e, Replay):
                bounds.add(e.r0)
        self.boundaries = sorted(bounds)
        self.field: list[Effect] = []
        self.input: list[Effect] = []
        self.manual: list[Effect] = []
        self.command: list[CommandEffect] = []
        self.view: list[Effect] = []
        self.recorders: list[Replay] = []
        self.any_active = False
        self._activated: set[int] = set()
        self.next_event = self.boundaries[0] if self.boundaries else math.inf

    def advance(self, i: int, ctx: Any) -> None:
        """Rebuild the active lists for scan `i` (called when `i` reaches `next_event`)."""
        active = [e for e in self.effects if e.s0 <= i < e.e0]
        for e in active:
            if id(e) not in self._activated:
                self._activated.add(id(e))
                e.activate(ctx)
        self.field = [e for e in active if e.stage == "field"]
        self.input = [e for e in active if e.stage == "input"]
        self.manual = [e for e in active if e.stage == "manual"]
        self.command = [e for e in active if isinstance(e, CommandEffect)]
        self.view = [e for e in active if e.stage == "view"]
        self.recorders = [e for e in self.effects if isinstance(e, Replay) and e.r0 <= i < e.s0]
        self.any_active = bool(active or self.recorders)
        later = [b for b in self.boundaries if b > i]
        self.next_event = later[0] if later else math.inf
