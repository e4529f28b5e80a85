"""The scan engine: one plant model, N instances, advanced one PLC scan at a time.

Order of one scan at time t (row timestamps are these t):

1. the plant's true sensor values at t (state x(t), actuators applied since t - scan);
2. plus sensor noise/drift (precomputed per block), quantised, then field-stage attacks;
3. operator values of writable tags, then input-stage attacks (rogue writes);
4. the PLC program: alarms, interlocks, loops -> actuator commands and statuses;
5. command-stage attacks turn commands into what the devices apply;
6. the row the historian records: readings, inputs, actuators as reported, statuses, then
   view-stage attacks (plus the hidden true values when `include_truth`);
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
from simulators.attacks.scenario import AttackScenario
from simulators.core.ops import make_ops
from simulators.core.sensors import SensorBank, SensorOptions
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
        self.include_truth = include_truth
        self.columns: list[str] = list(table.names)
        self.bool_columns: list[bool] = [t.is_bool for t in table.columns]
        if include_truth:
            self.columns += [f"truth:{t.name}" for t in table.sensors] + [f"truth:{t.name}" for t in table.actuators]
            self.bool_columns += [False] * len(table.sensors) + [t.is_bool for t in table.actuators]
        self.momentary = [j for j, t in enumerate(table.inputs) if t.momentary]
        width = max(len(table.sensors), len(plant.EXOGENOUS), 1) * instances
        self.block = max(8, min(BLOCK_SCANS, BLOCK_VALUES // width))  # values do not depend on it
        self.i = 0
        self._fill(0)
        self.x, self.op_man, self.app = self.plant.start(self._exo[0])
        self.op_inp = self.plant.input_defaults()
        self.rd_prev: list[Any] | None = None
        self.attacks = AttackRuntime(scenarios, table, scan_period, ops) if scenarios else None
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
        ops = self.ops
        self._blk0 = first
        self._exo = ops.column(self.plant.exogenous(first, self.block))
        bank = self.sensor_bank
        self._noise = ops.column(bank.offsets(first, self.block)) if bank.active else None

    def scan(self) -> list[Any]:
        """Run one scan and return the historian row for it (see module docstring)."""
        i = self.i
        b = i - self._blk0
        if b >= self.block:
            self._fill(i)
            b = 0
        w = self._exo[b]
        plant = self.plant
        true = plant.measure(self.x, self.app, w)
        noise = self._noise
        rd = [v + e for v, e in zip(true, noise[b], strict=True)] if noise is not None else list(true)
        if self.quantised:
            rnd = self.ops.round
            for j, q in self.quantised:
                rd[j] = q * rnd(rd[j] / q)
        inp = self.op_inp
        man = self.op_man
        atk = self.attacks
        if atk is not None:
            if i >= atk.next_event:
                atk.advance(i, self)
            if atk.any_active:
                for r in atk.recorders:
                    r.record(rd)
                for e in atk.field:
                    e.apply(rd, i)
                if atk.input:
                    inp = list(inp)
                    for e in atk.input:
                        e.apply(inp, i)
                if atk.manual:
                    man = list(man)
                    for e in atk.manual:
                        e.apply(man, i)
        cmd, st = plant.control(rd, inp, man, w)
        app = shown = cmd
        if atk is not None and atk.command:
            app, shown = list(cmd), list(cmd)
            for c in atk.command:
                c.apply2(app, shown, i)
        for j in self.momentary:
            self.op_inp[j] = self.ops.full_bool(False)
        row = rd + inp + shown + st
        if atk is not None and atk.view:
            for e in atk.view:
                e.apply(row, i)
        if self.include_truth:
            row += true
            row += app
        self.rd_prev = rd
        self.app = app
        self.x = plant.integrate(self.x, app, w, self.step, self.substeps)
        self.i = i + 1
        self.row = row
        return row

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
        rows: list[list[Any]] = []
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
                    rows.append(row)
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
    def _chunk(rows: list[list[Any]], buf: np.ndarray | None, count: int) -> np.ndarray:
        if buf is None:
            return np.asarray(rows, dtype=np.float64)
        return buf[:count].copy()
