"""The scan engine: one plant model, N instances, advanced one PLC scan at a time.

Order of one scan at time t (row timestamps are these t):

1. the plant's true sensor values at t (state x(t), actuators applied since t - scan);
2. plus sensor noise/drift (precomputed per block), quantised, what instruments report instead
   of the process (an analyser on its calibration standards), analysers' samples held and
   delayed, saturated at the transmitter range with a quality code per reading, then field-stage
   attacks (what they forge saturates too);
3. operator values of writable tags (with the plant's scheduled operator writes: setpoint
   schedules, duty rotation, operator actions), then input-stage attacks (rogue writes);
4. the PLC program: alarms, interlocks, loops -> actuator commands and statuses;
5. command-stage attacks turn commands into what reaches the devices; the plant's device models
   (mechanisms with their own delays and lockouts, e.g. a tap changer) give what they apply;
6. the row the historian records: readings, inputs, actuators as reported, statuses, quality
   codes, then view-stage attacks (plus the hidden true values when `include_truth`);
7. the physics integrates from t to t + scan with RK4 under the applied actuators.

Batch datasets (`dataset`) and live stepping (`live`) both drive this class, so they cannot drift
apart. Randomness comes from one generator per (instance, stream), seeded from the run seed
alone, which makes instance k of any batch identical to a single run of instance k.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from simulators.attacks.apply import AttackRuntime
from simulators.attacks.outcome import OutcomeTracker
from simulators.attacks.scenario import AttackScenario
from simulators.core.ops import make_ops
from simulators.core.sensors import QUALITY_STALE, RangeCheck, SampleHold, SensorBank, SensorOptions
from simulators.errors import SimulationCancelled
from simulators.plants.base import PlantModel

BLOCK_SCANS = 1024  # scans of noise and exogenous input generated per NumPy call ...
BLOCK_VALUES = 1 << 21  # ... but at most ~16 MB per block array when many instances run at once
CHECK_EVERY = 64  # scans between looks at the wall clock (cancel and progress)
CHECK_INTERVAL_S = 0.25  # wall time between cancel checks (the contract asks for <= 0.5 s)
STREAM_PROCESS, STREAM_NOISE, STREAM_DRIFT = 0, 1, 2

CancelFn = Callable[[], bool]
ScanProgressFn = Callable[[int, int], None]


def instance_rng(seed: int, instance: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(instance, stream))))


class Simulation:
    """One run: plant model + sensors + attacks for `instances` instances, advanced by `scan()`/`run()`."""

    def __init__(
        self,
        plant: type[PlantModel],
        params: Mapping[str, float],
        *,
        seed: int = 0,
        instances: int = 1,
        scan_period: float = 1.0,
        sensors: SensorOptions | None = None,
        scenarios: Sequence[AttackScenario] = (),
        include_truth: bool = False,
        start_ms: int = 0,
        vectorised: bool | None = None,
    ) -> None:
        self.ops = ops = make_ops(instances, vectorised)
        self.instances = instances
        self.scan_period = scan_period
        self.substeps = max(1, math.ceil(scan_period / plant.dt_max - 1e-9))
        self.step = scan_period / self.substeps
        start_hour = (start_ms / 1000.0 % 86400.0) / 3600.0
        rngs = [instance_rng(seed, k, STREAM_PROCESS) for k in range(instances)]
        self.plant = plant(params, ops, rngs, scan_period, start_hour)
        self.table = table = plant.tag_table()
        self.sensor_bank = SensorBank(
            table.sensors,
            sensors or SensorOptions(),
            [instance_rng(seed, k, STREAM_NOISE) for k in range(instances)],
            [instance_rng(seed, k, STREAM_DRIFT) for k in range(instances)],
            scan_period,
        )
        self.quantised = self.sensor_bank.quantised
        self.analysers = [
            (table.sensor(tag), SampleHold(round(self.plant.p[every] / scan_period),
                                           round(self.plant.p[late] / scan_period)))
            for tag, every, late in plant.ANALYSERS
            if self.plant.p[every] > scan_period or self.plant.p[late] > 0
        ]
        self._events: dict[int, list[tuple[int, str, float]]] = {}
        self.range_check = RangeCheck(table.sensors)
        self.quality: list[Any] = list(self.range_check.good)
        self.include_truth = include_truth
        # Tags, then one quality code per sensor (`quality:<tag>`, see core.sensors), then the truth.
        self.columns: list[str] = list(table.names) + [f"quality:{t.name}" for t in table.sensors]
        self.bool_columns: list[bool] = [t.is_bool for t in table.columns] + [True] * len(table.sensors)
        if include_truth:
            self.columns += [f"truth:{t.name}" for t in table.sensors] + [f"truth:{t.name}" for t in table.actuators]
            self.bool_columns += [False] * len(table.sensors) + [t.is_bool for t in table.actuators]
        self.momentary = [j for j, t in enumerate(table.inputs) if t.momentary]
        width = max(len(table.sensors), len(plant.EXOGENOUS), 1) * instances
        self.block = max(8, min(BLOCK_SCANS, BLOCK_VALUES // width))  # values do not depend on it
        self.i = 0
        self._fill(0)
        self.x, self.op_man, self.app = self.plant.start(self._exogenous[0])
        self.op_inp = self.plant.input_defaults()
        self.rd_prev: list[Any] | None = None
        self.attacks = AttackRuntime(scenarios, table, scan_period, ops) if scenarios else None
        self.tracker = (OutcomeTracker(scenarios, table, scan_period, plant.PROCESS_VARIABLES)
                        if scenarios else None)
        self.true: list[Any] = []  # true sensor values of the last scan (for the outcome tracker)
        self.row: list[Any] | None = None

    def set_value(self, name: str, value: Any) -> None:
        """Operator write of a writable tag (input or manual actuator value), effective next scan.
        No validation here: `LivePlant.write` validates for outside callers."""
        group, idx = self.table.group_index[name]
        tag = self.table.by_name[name]
        stored = self.ops.full_bool(value) if tag.is_bool else self.ops.full(value)
        if group == "input":
            self.op_inp[idx] = stored
        elif group == "actuator" and tag.writable:
            self.op_man[idx] = stored
        else:
            raise KeyError(f"{name} is not writable")

    @property
    def time(self) -> float:
        """Seconds from the run start of the next scan."""
        return self.i * self.scan_period

    def _fill(self, first: int) -> None:
        """Generate exogenous inputs and sensor noise for the block of scans starting at `first`."""
        ops = self.ops
        self._block_start = first
        self._exogenous = ops.column(self.plant.exogenous(first, self.block))
        bank = self.sensor_bank
        self._noise = ops.column(bank.offsets(first, self.block)) if bank.active else None
        for scan, instance, name, value in self.plant.events(first, self.block):
            self._events.setdefault(scan, []).append((instance, name, value))

    def _block_row(self, scan_index: int) -> int:
        """Row of `scan_index` in the current block, generating the next block when this one is used up."""
        row = scan_index - self._block_start
        if row >= self.block:
            self._fill(scan_index)
            row = 0
        return row

    def _readings(self, true: Sequence[Any], block_row: int, scan_index: int) -> list[Any]:
        """What the sensors report for the true values: plus noise and drift, quantised, analysers'
        samples held and delayed, then saturated at the range (step 2)."""
        noise = self._noise
        readings = [v + e for v, e in zip(true, noise[block_row], strict=True)] if noise is not None else list(true)
        if self.quantised:
            rnd = self.ops.round
            for j, q in self.quantised:
                readings[j] = q * rnd(readings[j] / q)
        if self.plant.INSTRUMENTS:
            readings = self.plant.instrument(readings, true, self._exogenous[block_row])
        for j, analyser in self.analysers:
            readings[j] = analyser(scan_index, readings[j])
        # The transmitter saturates at its range: nothing below 0 with a pump stopped or a breaker
        # open, nothing above the top of scale however high the true value goes; a reading pinned
        # there well past the NE 43 margins is marked Uncertain.
        if self.ops.vector:
            readings, self.quality = self.range_check.vector(readings)
            return readings
        readings, self.quality = self.range_check.scalar(readings)
        return readings

    def _attacks_before_control(self, scan_index: int, readings: list[Any]) -> tuple[list[Any], list[Any]]:
        """Steps 2-3 for attacks: field effects change `readings` in place; the operator's input and manual
        values the PLC sees are returned, copied before an attack changes them so the operator's own stay.
        Replay recorders tape the readings before any field effect, as the real sensors gave them."""
        inputs, manual = self.op_inp, self.op_man
        attacks = self.attacks
        if attacks is None:
            return inputs, manual
        if scan_index >= attacks.next_event:
            attacks.advance(scan_index, self)
        if not attacks.any_active:
            return inputs, manual
        for recorder in attacks.recorders:
            recorder.record(readings)
        if attacks.field:
            self._field_attacks(attacks.field, scan_index, readings)
        if attacks.input:
            inputs = list(inputs)
            for effect in attacks.input:
                effect.apply(inputs, scan_index)
        if attacks.manual:
            manual = list(manual)
            for effect in attacks.manual:
                effect.apply(manual, scan_index)
        return inputs, manual

    def _field_attacks(self, effects: list[Any], scan_index: int, readings: list[Any]) -> None:
        """Field effects change `readings`; what they forge still passes the PLC's input card, so it
        saturates at the range (Uncertain beyond it), and a device that stopped answering is stale."""
        quality = list(self.quality)
        check = self.range_check
        for effect in effects:
            effect.apply(readings, scan_index)
            for j, _ in effect.slots:
                readings[j], code = check.one(j, readings[j])
                quality[j] = QUALITY_STALE if effect.stale else code
        self.quality = quality

    def _command_stage(self, scan_index: int, commands: list[Any]) -> tuple[list[Any], list[Any]]:
        """Step 5: (what the devices apply, what the historian is shown); the same list when no attack acts."""
        attacks = self.attacks
        if attacks is None or not attacks.command:
            return commands, commands
        applied, shown = list(commands), list(commands)
        for effect in attacks.command:
            effect.apply2(applied, shown, scan_index)
        return applied, shown

    def _operator_events(self, events: list[tuple[int, str, float]]) -> None:
        """The plant's scheduled writes for this scan, each for one instance, as the operator's own."""
        ops = self.ops
        for instance, name, value in events:
            group, idx = self.table.group_index[name]
            target = self.op_inp if group == "input" else self.op_man
            stored = bool(value) if self.table.by_name[name].is_bool else float(value)
            if ops.vector:
                column = np.array(target[idx], copy=True)
                column[instance] = stored
                target[idx] = column
            else:
                target[idx] = stored

    def _release_momentary(self) -> None:
        """Momentary inputs (push buttons) act for one scan: the operator's value goes back to False."""
        for j in self.momentary:
            self.op_inp[j] = self.ops.full_bool(False)

    def _historian_row(self, scan_index: int, row: list[Any], true: Sequence[Any], applied: list[Any]) -> list[Any]:
        """Step 6: view-stage attacks on the recorded row, then the hidden truth columns when asked for."""
        attacks = self.attacks
        if attacks is not None and attacks.view:
            for effect in attacks.view:
                effect.apply(row, scan_index)
        if self.include_truth:
            row += true
            row += applied
        return row

    def scan(self) -> list[Any]:
        """Run one scan and return the historian row for it (steps in the module docstring)."""
        scan_index = self.i
        block_row = self._block_row(scan_index)
        exogenous = self._exogenous[block_row]
        plant = self.plant
        if self.tracker is not None:
            self.tracker.fork(scan_index, self)
        true = plant.measure(self.x, self.app, exogenous)
        self.true = true
        readings = self._readings(true, block_row, scan_index)
        if scan_index in self._events:
            self._operator_events(self._events.pop(scan_index))
        inputs, manual = self._attacks_before_control(scan_index, readings)
        commands, statuses = plant.control(readings, inputs, manual, exogenous)
        if self.tracker is not None:
            self.tracker.observe(scan_index, true, statuses)
        applied, shown = self._command_stage(scan_index, commands)
        applied = plant.devices(applied)
        # Before the row is built: with no input attack `inputs` is the operator's list itself, and
        # the recorded row has always shown a released push button.
        self._release_momentary()
        row = self._historian_row(scan_index, readings + inputs + shown + statuses + self.quality, true, applied)
        for instance, name, value in plant.operator_writes():  # what the operator does about this scan
            self._operator_events([(instance, name, value)])
        self.rd_prev = readings
        self.app = applied
        self.x = plant.integrate(self.x, applied, exogenous, self.step, self.substeps)
        self.i = scan_index + 1
        self.row = row
        return row

    def attack_outcomes(self) -> dict[str, dict[str, Any]]:
        """Per attack id: its intended physical effect and whether it was reached so far."""
        return self.tracker.outcomes() if self.tracker is not None else {}

    def run(
        self,
        scans: int,
        every: int = 1,
        chunk_rows: int = 16384,
        cancel: CancelFn | None = None,
        progress: ScanProgressFn | None = None,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Advance `scans` scans, recording every `every`-th; yields (scan indices, values) chunks with
        values shaped (rows, columns) for one scalar instance or (rows, columns, instances)."""
        first = self.i
        last = first + scans
        vector = self.ops.vector
        width = len(self.columns)
        rows: list[Any] = []  # one instance: the recorded rows' values end to end (one conversion per chunk)
        buf = np.empty((chunk_rows, width, self.instances)) if vector else None
        idx: list[int] = []
        scan = self.scan
        clock = time.monotonic
        check_every = 1 if vector else CHECK_EVERY  # a vectorised scan may take milliseconds
        next_check = clock() + CHECK_INTERVAL_S
        while self.i < last:
            i = self.i
            row = scan()
            if i % every == 0:
                if buf is not None:  # arrays: copy into a preallocated block (cheaper than asarray later)
                    slot = buf[len(idx)]
                    for j in range(width):
                        slot[j] = row[j]
                else:
                    rows.extend(row)
                idx.append(i)
                if len(idx) >= chunk_rows:
                    yield np.asarray(idx, dtype=np.int64), self._chunk(rows, buf, len(idx))
                    rows, idx = [], []
            if i % check_every == 0 and (cancel is not None or progress is not None) and clock() >= next_check:
                next_check = clock() + CHECK_INTERVAL_S
                if cancel is not None and cancel():
                    raise SimulationCancelled("cancelled by the caller")
                if progress is not None:
                    progress(self.i - first, scans)
        if idx:
            yield np.asarray(idx, dtype=np.int64), self._chunk(rows, buf, len(idx))

    @staticmethod
    def _chunk(rows: list[Any], buf: np.ndarray | None, count: int) -> np.ndarray:
        if buf is None:  # a flat list converts in half the time a list of rows does
            return np.fromiter(rows, dtype=np.float64, count=len(rows)).reshape(count, -1)
        return buf[:count].copy()
