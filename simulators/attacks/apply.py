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
from dataclasses import dataclass
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
    stale = False  # a field effect whose device stopped answering: the PLC marks the reading stale

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


@dataclass(frozen=True)
class _StageTargets:
    """A scenario's targets that fall in one stage group, in the two forms effects take: magnitudes to add
    (`offsets`) and magnitudes as values of the tag's type to write (`consts`), both keyed by position."""

    scenario: AttackScenario
    s0: int
    e0: int
    tags: list[TagSpec]
    offsets: list[tuple[int, Any]]
    consts: list[tuple[int, Any]]


def compile_scenario(scenario: AttackScenario, table: TagTable, scan: float, ops: Ops) -> list[Effect]:
    """One effect per stage the scenario's targets fall in."""
    s0, e0 = scan_window(scenario, scan)
    effects: list[Effect] = []
    for group, items in _group_targets(scenario, table).items():
        consts = [
            (idx, None if mag is None else (ops.full_bool(mag) if tag.is_bool else ops.full(mag)))
            for tag, idx, mag in items
        ]
        targets = _StageTargets(scenario, s0, e0, [tag for tag, _, _ in items],
                                [(idx, mag) for _, idx, mag in items], consts)
        effects.append(_make_effect(group, targets, scan, ops))
    return effects


def _group_targets(scenario: AttackScenario, table: TagTable) -> dict[str, list[tuple[TagSpec, int, float | None]]]:
    """Targets by the group whose value list they sit in, with their position there, in target order.

    A view attack works on the whole row the HMI sees (set for booleans, offset for analogs); an unauthorized
    command on an actuator goes through the manual-mode list; every other target stays in its own group.
    """
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
    return groups


def _make_effect(group: str, targets: _StageTargets, scan: float, ops: Ops) -> Effect:
    """The effect for one group of targets: the group says which stage it acts on, the technique how."""
    if group in ("view-offset", "view-set", "input", "manual"):
        return _overwrite_effect(group, targets)
    if group == "sensor":
        return _staged(_sensor_effect(targets, scan), "field")
    return _command_effect(targets, ops)


def _staged(effect: Effect, stage: str) -> Effect:
    """Bind an effect whose class serves several stages to the one it acts on here."""
    effect.stage = stage
    return effect


def _overwrite_effect(group: str, t: _StageTargets) -> Effect:
    """View, input and manual-mode attacks: an offset on analog view values, otherwise a fixed value."""
    if group == "view-offset":
        return _staged(Offset(t.scenario, t.s0, t.e0, t.offsets), "view")
    return _staged(Constant(t.scenario, t.s0, t.e0, t.consts), "view" if group == "view-set" else group)


def _sensor_effect(t: _StageTargets, scan: float) -> Effect:
    """What a sensor attack does to the readings, by technique; freezing is the default because
    sensor_freeze and denial_of_service both leave the PLC with the last reading it got."""
    key = t.scenario.technique
    if key == "spoof_reporting_message":
        return Offset(t.scenario, t.s0, t.e0, t.offsets)
    if key == "ramp_injection":
        return Ramp(t.scenario, t.s0, t.e0, t.offsets)
    if key == "pulse_injection":
        return Pulse(t.scenario, t.s0, t.e0, t.offsets, scan)
    if key == "replay":
        return Replay(t.scenario, t.s0, t.e0, t.offsets)
    hold = HoldReading(t.scenario, t.s0, t.e0, t.offsets)
    # A frozen transmitter still answers (the PLC sees a Good value); one that stopped answering
    # leaves the input card holding its last value and flagging it.
    hold.stale = key == "denial_of_service"
    return hold


def _command_effect(t: _StageTargets, ops: Ops) -> Effect:
    """What an attack on actuator commands does, by technique; the remaining case is denial_of_service,
    which holds the commands the process had when it began."""
    key = t.scenario.technique
    if key == "manipulation_of_control":
        return ForceCommand(t.scenario, t.s0, t.e0, t.consts)
    if key == "man_in_the_middle":
        bounds = [None if tag.is_bool else (tag.low, tag.high) for tag in t.tags]
        return AlterCommand(t.scenario, t.s0, t.e0, t.offsets, ops, bounds)
    return HoldCommand(t.scenario, t.s0, t.e0, t.offsets)


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
