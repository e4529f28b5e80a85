"""PID controller as a PLC function block runs it: positional form, derivative on measurement,
a first-order PV filter, an output rate limit and deadband, back-calculation anti-windup and
bumpless auto/manual transfer.

Anti-windup matters because attacks and trips routinely saturate actuators (a pump stopped, a
valve forced shut); a plain integrator would wind up for the whole episode and cause a long
overshoot afterwards that is an artefact of the model, not of the plant.

The PV filter, rate limit and deadband are what keep a real loop's output from following the
transmitter noise: a PLC filters the level it controls on (seconds to tens of seconds), a VFD
ramps its speed reference and a positioner ignores changes smaller than its deadband. Without them
the output moves every scan by Kp times the noise, which no plant does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulators.core.ops import Num, Ops


@dataclass(frozen=True)
class PIDTuning:
    kp: float
    ti: float  # integral time, s
    td: float = 0.0  # derivative time, s
    out_low: float = 0.0
    out_high: float = 100.0
    direct: bool = False  # True: output rises when PV rises above SP (e.g. cooling valve)
    tt: float | None = None  # anti-windup tracking time, s (default: Ti)
    pv_filter: float = 0.0  # first-order PV filter time constant, s (0 = off)
    rate: float = 0.0  # largest output change in automatic, %/s (0 = unlimited): VFD ramp, valve stroke
    deadband: float = 0.0  # output changes smaller than this are not passed on, % (positioner deadband)


class PID:
    """One loop, vectorised over instances. `update` is called once per PLC scan of length `dt`."""

    __slots__ = ("_alpha", "_kd", "_ki", "_kt", "_step", "dt", "integral", "ops", "out", "prev_pv", "pv_f",
                 "tuning")

    def __init__(self, tuning: PIDTuning, dt: float, ops: Ops, output0: Num) -> None:
        if tuning.ti <= 0:
            raise ValueError("integral time must be positive")
        tt = tuning.tt if tuning.tt is not None else tuning.ti
        if dt >= tt:
            raise ValueError("scan period must be shorter than the anti-windup tracking time")
        self.tuning = tuning
        self.dt = dt
        self.ops = ops
        self._ki = tuning.kp * dt / tuning.ti
        self._kd = tuning.kp * tuning.td / dt
        self._kt = dt / tt
        # Discrete first-order lag (backward Euler): stable for any scan, exact 1 when the filter is off.
        self._alpha = dt / (tuning.pv_filter + dt)
        self._step = tuning.rate * dt if tuning.rate > 0 else 0.0
        self.integral: Any = output0
        self.out: Any = output0
        self.prev_pv: Any = None
        self.pv_f: Any = None

    def filtered(self, pv: Num) -> Num:
        """The PV the loop acts on (the filter's state after this scan)."""
        if self.pv_f is None:
            self.pv_f = pv
        else:
            self.pv_f = self.pv_f + self._alpha * (pv - self.pv_f)
        return self.pv_f

    def update(self, sp: Num, pv: Num, auto: Num, manual: Num) -> Num:
        """Return the controller output; in manual (`auto` false) the output is `manual` and the
        integral tracks it so switching back to auto does not bump the actuator."""
        t = self.tuning
        ops = self.ops
        pv = self.filtered(pv)
        error = pv - sp if t.direct else sp - pv
        p = t.kp * error
        d = 0.0
        if self._kd and self.prev_pv is not None:
            slope = pv - self.prev_pv
            d = self._kd * slope if t.direct else -self._kd * slope
        self.prev_pv = pv
        v = p + self.integral + d
        u = ops.clip(v, t.out_low, t.out_high)
        prev = self.out
        if self._step:
            u = prev + ops.clip(u - prev, -self._step, self._step)
        if t.deadband > 0:
            u = ops.where(abs(u - prev) < t.deadband, prev, u)
        out = ops.where(auto, u, manual)
        self.out = out
        # Back-calculation on what was actually output, so a rate limit or deadband does not wind up.
        self.integral = ops.where(
            auto, self.integral + self._ki * error + self._kt * (u - v), manual - p - d
        )
        return out
