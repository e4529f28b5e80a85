"""Fixed-step classical Runge-Kutta (RK4), vectorised over plant instances.

Why fixed-step RK4 and not an adaptive solver: the PLC changes the actuators at every scan, so any
solver restarts each scan anyway, and a fixed step gives the same arithmetic on every machine
(byte-identical datasets). The state is a list of variables; each variable is a float (one
instance) or an array over instances (see `ops`), so the same code serves both back-ends.
Inputs are held constant over a step (zero-order hold, as a PLC output is between scans).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

State = list[Any]
Rhs = Callable[[State, Any, Any], State]


def rk4(rhs: Rhs, x: State, u: Any, w: Any, h: float, steps: int = 1) -> State:
    """Advance `x` by `steps` RK4 steps of size `h` under held inputs `u` and exogenous values `w`."""
    half = 0.5 * h
    sixth = h / 6.0
    for _ in range(steps):
        k1 = rhs(x, u, w)
        k2 = rhs([a + half * b for a, b in zip(x, k1, strict=True)], u, w)
        k3 = rhs([a + half * b for a, b in zip(x, k2, strict=True)], u, w)
        k4 = rhs([a + h * b for a, b in zip(x, k3, strict=True)], u, w)
        x = [
            a + sixth * (b1 + 2.0 * (b2 + b3) + b4)
            for a, b1, b2, b3, b4 in zip(x, k1, k2, k3, k4, strict=True)
        ]
    return x
