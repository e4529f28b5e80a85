"""Exogenous signals: daily load/demand shapes and slow random disturbances.

Real plants see demand that follows the clock and small unpredictable wandering on top; both are
generated in blocks over time (vectorised), never per scan. The random part is an
Ornstein-Uhlenbeck process (mean-reverting noise) discretised exactly, so its statistics do not
depend on the scan period, and carried across blocks so blocks join seamlessly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Hour-of-day shapes (mean 1 over 24 h), linearly interpolated; index = hour 0..24.
_SHAPES = {
    # Water use and household load: night trough, morning and evening peaks.
    "residential": [0.55, 0.5, 0.48, 0.47, 0.5, 0.62, 0.9, 1.25, 1.35, 1.2, 1.1, 1.05, 1.05,
                    1.0, 0.98, 1.0, 1.1, 1.3, 1.5, 1.55, 1.4, 1.15, 0.9, 0.7, 0.55],
    # Office/commercial: a working-day plateau.
    "commercial": [0.45, 0.42, 0.4, 0.4, 0.42, 0.5, 0.7, 1.1, 1.45, 1.6, 1.65, 1.65, 1.6,
                   1.6, 1.65, 1.6, 1.5, 1.3, 1.0, 0.8, 0.65, 0.55, 0.5, 0.47, 0.45],
    # Three-shift industry: nearly flat with a dip at shift changes.
    "industrial": [0.95, 0.95, 0.95, 0.95, 0.95, 0.9, 0.85, 1.0, 1.05, 1.05, 1.05, 1.05, 1.0,
                   1.0, 0.9, 1.0, 1.05, 1.05, 1.05, 1.05, 1.0, 1.0, 0.95, 0.95, 0.95],
}
_HOURS = np.arange(25, dtype=float)
_NORMALISED = {}
for _name, _shape in _SHAPES.items():
    _arr = np.asarray(_shape, dtype=float)
    _NORMALISED[_name] = _arr / _arr[:24].mean()


def daily_profile(hour_of_day: np.ndarray, kind: str, amplitude: float = 1.0) -> np.ndarray:
    """Shape `kind` at the given hours, flattened towards 1 by `amplitude` (0 = constant 1)."""
    shape = np.interp(np.mod(hour_of_day, 24.0), _HOURS, _NORMALISED[kind])
    return 1.0 + amplitude * (shape - 1.0)


def sinusoid(hour_of_day: np.ndarray, mean: float, amplitude: float, peak_hour: float) -> np.ndarray:
    """Daily sinusoid peaking at `peak_hour` (ambient and cooling-water temperatures)."""
    return mean + amplitude * np.cos(2.0 * np.pi * (hour_of_day - peak_hour) / 24.0)


class OUProcess:
    """Mean-zero Ornstein-Uhlenbeck noise with stationary std `sigma` and time constant `tau`,
    one independent channel per (instance, k)."""

    def __init__(self, rngs: Sequence[np.random.Generator], k: int, sigma: float, tau: float, dt: float) -> None:
        self.rngs = list(rngs)
        self.k = k
        self.sigma = sigma
        self.a = float(np.exp(-dt / tau))
        self.b = sigma * float(np.sqrt(1.0 - self.a**2))
        # Start from the stationary distribution so early rows look like later ones.
        self.state = np.stack([rng.standard_normal(k) for rng in self.rngs], axis=-1) * sigma

    def block(self, count: int) -> np.ndarray:
        """Next `count` samples, shaped (k, count, instances)."""
        # Always draw, so switching one disturbance off does not reshuffle the others; time-major, so
        # the values do not depend on how a run is cut into blocks.
        shocks = np.stack([rng.standard_normal((count, self.k)).T for rng in self.rngs], axis=-1)
        if self.sigma == 0.0:
            return np.zeros((self.k, count, len(self.rngs)))
        out = first_order(shocks, self.a, self.b, self.a * self.state)
        self.state = out[:, -1, :]
        return out


SMALL_CHANNELS = 16  # up to this many channels the recursion runs on Python floats, beyond it on arrays


def first_order(x: np.ndarray, a: float, b: float, z: np.ndarray) -> np.ndarray:
    """y[t] = z + b x[t], z = a y[t] along axis 1 of `x` (k, count, n), from z = `z` (k, n): the
    first-order filter scipy.signal.lfilter([b], [1, -a], x, axis=1, zi=z) runs, with its operations
    in its order (its delay line is `0 x - (-a) y`, which is `a y` exactly), so the same values.
    Written out because importing scipy.signal costs ~1 s of CPU, as much as a fifth of a day's
    run; a few channels go over Python floats (~0.1 us a step), many over arrays, one step at a time."""
    k, count, n = x.shape
    out = np.empty((k, count, n))
    if k * n <= SMALL_CHANNELS:
        for c in range(k):
            for i in range(n):
                zc = float(z[c, i])
                ys: list[float] = []
                append = ys.append
                for xv in x[c, :, i].tolist():
                    y = zc + b * xv
                    append(y)
                    zc = a * y
                out[c, :, i] = ys
        return out
    zt = np.array(z, dtype=np.float64)
    for t in range(count):
        y = zt + b * x[:, t, :]
        out[:, t, :] = y
        zt = a * y
    return out
