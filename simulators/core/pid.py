"""PID controller as a PLC function block runs it: positional form, derivative on measurement,
back-calculation anti-windup and bumpless auto/manual transfer.

Anti-windup matters because attacks and trips routinely saturate actuators (a pump stopped, a
valve forced shut); a plain integrator would wind up for the whole episode and cause a long
overshoot afterwards that is an artefact of the model, not of the plant.
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


class PID:
    """One loop, vectorised over instances. `update` is called once per PLC scan of length `dt`."""

    __slots__ = ("_kd", "_ki", "_kt", "dt", "integral", "ops", "prev_pv", "tuning")

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
        self.integral: Any = output0
        self.prev_pv: Any = None

    def update(self, sp: Num, pv: Num, auto: Num, manual: Num) -> Num:
        """Return the controller output; in manual (`auto` false) the output is `manual` and the
        integral tracks it so switching back to auto does not bump the actuator."""
        t = self.tuning
        ops = self.ops
        error = pv - sp if t.direct else sp - pv
        p = t.kp * error
        d = 0.0
        if self._kd and self.prev_pv is not None:
            slope = pv - self.prev_pv
            d = self._kd * slope if t.direct else -self._kd * slope
        self.prev_pv = pv
        v = p + self.integral + d
        u = ops.clip(v, t.out_low, t.out_high)
        out = ops.where(auto, u, manual)
        self.integral = ops.where(
            auto, self.integral + self._ki * error + self._kt * (u - v), manual - p - d
        )
        return out
