"""PLC function blocks evaluated once per scan: alarms with hysteresis, on-delay timers and
latched interlocks, and the operator who resets them.

These mirror IEC 61131-3 habits (TON timers, latched trips with a reset) so that attack effects
look like they would on a real controller: an alarm chatters only if its deadband allows it, a
trip stays in until its condition clears and it is reset.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulators.core.ops import Num, Ops


class Alarm:
    """High or low alarm with a deadband: it raises at the limit and clears `deadband` inside it."""

    __slots__ = ("deadband", "high", "state")

    def __init__(self, ops: Ops, high: bool, deadband: float) -> None:
        self.high = high
        self.deadband = deadband
        self.state: Any = ops.full_bool(False)

    def update(self, x: Num, limit: Num) -> Num:
        if self.high:
            self.state = (x >= limit) | (self.state & (x > limit - self.deadband))
        else:
            self.state = (x <= limit) | (self.state & (x < limit + self.deadband))
        return self.state


class OnDelay:
    """TON timer: true once `cond` has held for `delay` seconds (elapsed time is 0 on the scan where
    `cond` rises, as on a PLC); resets as soon as `cond` drops."""

    __slots__ = ("delay", "dt", "elapsed", "limit", "ops", "vector")

    def __init__(self, ops: Ops, dt: float, delay: float) -> None:
        self.ops = ops
        self.vector = ops.vector
        self.dt = dt
        self.delay = delay
        self.limit = delay - 1e-9
        self.elapsed: Any = ops.full(-dt)

    def update(self, cond: Num) -> Num:
        # A plant runs ~10 of these per scan: one instance takes the branch, not a call to ops.where.
        if self.vector:
            self.elapsed = self.ops.where(cond, self.elapsed + self.dt, -self.dt)
        else:
            self.elapsed = self.elapsed + self.dt if cond else -self.dt
        return self.elapsed >= self.limit

    def restart(self, mask: Num) -> None:
        """Start timing again where `mask` is true (after it fired, for repeating actions)."""
        if self.vector:
            self.elapsed = self.ops.where(mask, 0.0, self.elapsed)
        elif mask:
            self.elapsed = 0.0


class Interlock:
    """Latched trip. It sets when `trip` is true; it releases once `clear` holds and either the
    operator resets it or, with `auto_reset` > 0 s, `clear` has held that long (unattended runs)."""

    __slots__ = ("enabled", "ops", "state", "timer")

    def __init__(self, ops: Ops, dt: float, auto_reset: float, enabled: bool = True) -> None:
        self.ops = ops
        self.enabled = enabled
        self.state: Any = ops.full_bool(False)
        self.timer = OnDelay(ops, dt, auto_reset) if auto_reset > 0 else None

    def update(self, trip: Num, clear: Num, reset: Num) -> Num:
        if not self.enabled:
            return self.state
        latched = self.state | trip
        release = clear & reset
        if self.timer is not None:
            release = release | (clear & self.timer.update(latched & clear))
        self.state = latched & self.ops.not_(release)
        return self.state


class OperatorReset:
    """The simulated operator of a run: it presses RESET once a latched trip or lockout has had its
    cause clear for `delay` seconds (0 s: nobody is there, a latch stays for the run). Each watched
    latch has its own TON timer; the plant calls `watch(k, latched & clear)` every scan and the
    engine applies `writes()` as operator writes for the next scan. Deterministic: no randomness."""

    __slots__ = ("due", "ops", "tag", "timers")

    def __init__(self, ops: Ops, dt: float, delay: float, watches: int, tag: str = "RESET") -> None:
        self.ops = ops
        self.tag = tag
        self.timers = [OnDelay(ops, dt, delay) for _ in range(watches)] if delay > 0 else []
        self.due: list[Any] = [False] * len(self.timers)

    def watch(self, k: int, cause_cleared: Num) -> None:
        """Latch `k` is in with its cause clear on this scan (false otherwise)."""
        if self.timers:
            self.due[k] = self.timers[k].update(cause_cleared)

    def writes(self) -> list[tuple[int, str, float]]:
        """(instance, RESET, 1) for each instance where some watched latch is due."""
        if not self.due:
            return []
        due: Any = self.due[0]
        for other in self.due[1:]:
            due = due | other
        if not self.ops.any(due):
            return []
        return [(int(k), self.tag, 1.0) for k in np.flatnonzero(np.atleast_1d(np.asarray(due, dtype=bool)))]
