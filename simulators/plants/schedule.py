"""Seeded daily schedules of operator-level writes, the common part of the plants' operating modes.

A plant's normal day is more than its loops: production plans, equipment rotation, setpoint changes
and maintenance. Each plant describes one day of them (`DailySchedule.day`); this class turns days
into the `(scan, instance, tag, value)` writes `PlantModel.events` returns. Days are generated one
at a time per instance from the instance's own generator, in a fixed order, so the writes are the
same whatever block size the engine asks for and whichever process runs them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

Event = tuple[float, str, float]  # (hour of the day, tag, value)
DAY_SHIFT = (6.0, 22.0)  # hours in which operators make their changes


def in_window(hour: float, start: float, end: float) -> bool:
    """Whether `hour` (of the day) is in [start, end), a window that may wrap past midnight."""
    h = hour % 24.0
    return start <= h < end if start <= end else (h >= start or h < end)


def ramp(start_hour: float, tag: str, origin: float, target: float, step: float, every_s: float) -> list[Event]:
    """Writes that move `tag` from `origin` to `target` by at most `step` every `every_s` seconds,
    as an operator ramps a production rate rather than stepping it (the last write is `target`)."""
    if step <= 0 or origin == target:
        return [(start_hour, tag, target)]
    n = max(1, math.ceil(abs(target - origin) / step - 1e-9))
    return [(start_hour + i * every_s / 3600.0, tag, round(origin + (target - origin) * (i + 1) / n, 6))
            for i in range(n)]


class DailySchedule:
    """Generates a plant's scheduled writes a day at a time; subclasses say what one day holds."""

    def __init__(self, p: Mapping[str, float], rngs: Sequence[np.random.Generator], scan: float,
                 start_hour: float) -> None:
        self.p = p
        self.rngs = list(rngs)
        self.scan = scan
        self.start_s = start_hour * 3600.0
        self.start_day = self.next_day = math.floor(start_hour / 24.0)
        self.pending: list[tuple[int, int, str, float]] = []

    @property
    def active(self) -> bool:
        """False when every mode is switched off (then nothing is drawn at all)."""
        return False

    def day(self, day: int, rng: np.random.Generator, hour0: float | None) -> list[Event]:
        """The writes of one day, by hour; `hour0` is the run's start hour on its first day (the
        state the schedule asks for then), else None. Draws must not depend on which modes are on."""
        return []

    def events(self, first_scan: int, count: int) -> list[tuple[int, int, str, float]]:
        """Writes for scans first_scan .. +count, (scan, instance, tag, value) sorted by scan."""
        if not self.active:
            return []
        end = first_scan + count
        while self.next_day * 86400.0 <= self.start_s + end * self.scan:
            d = self.next_day
            hour0 = self.start_s / 3600.0 - d * 24.0 if d == self.start_day else None
            for k, rng in enumerate(self.rngs):
                for hour, tag, value in self.day(d, rng, hour0):
                    scan = round((d * 86400.0 + hour * 3600.0 - self.start_s) / self.scan)
                    if scan >= 0:
                        self.pending.append((scan, k, tag, value))
            self.next_day += 1
            self.pending.sort(key=lambda e: (e[0], e[1]))
        out = [e for e in self.pending if e[0] < end]
        self.pending = [e for e in self.pending if e[0] >= end]
        return out
