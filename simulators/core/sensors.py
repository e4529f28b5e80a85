"""Sensor imperfections: white or coloured (AR(1)) noise, linear or random-walk drift, ADC
quantisation and the transmitter range, as run options.

A transmitter cannot report outside its calibrated range: a 4-20 mA loop saturates at the ends, so
a stopped pump's flow reads 0 (not minus the noise) and an over-range flow reads the top of the
range. The engine clips every reading to its tag range (`low`, `high`) after noise and drift.

Noise and drift do not depend on the plant state, so they are drawn ahead of time in blocks
(one NumPy call per block instead of one per scan) from a generator per instance. That also keeps
them identical whether or not an attack changes the process, which is what lets a test compare
an attacked run with its baseline row by row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulators.core.params import coerce_number
from simulators.core.tags import TagSpec
from simulators.errors import SimulationParamError

SECONDS_PER_DAY = 86_400.0
DRIFT_MODELS = ("linear", "random_walk")


@dataclass(frozen=True)
class SensorOptions:
    """`noise` and `drift` scale each tag's nominal figures (0 switches them off); `quantization_bits`
    rounds readings to the step of an ADC of that many bits over the tag range (0 = off)."""

    noise: float = 1.0
    drift: float = 0.0
    quantization_bits: int = 0
    noise_tau: float = 0.0  # AR(1) correlation time of the noise, s (0 = white)
    drift_model: str = "linear"  # "linear": a fixed random rate; "random_walk": a Wiener process

    @classmethod
    def parse(cls, raw: Any, field: str = "sensors") -> SensorOptions:
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise SimulationParamError(field, "must be an object with noise, drift, quantization_bits")
        unknown = sorted(set(raw) - {"noise", "drift", "quantization_bits", "noise_tau", "drift_model"})
        if unknown:
            raise SimulationParamError(f"{field}.{unknown[0]}", "unknown sensor option")
        values: dict[str, Any] = {}
        for key in ("noise", "drift"):
            if key in raw:
                value = raw[key]
                scale = (1.0 if value else 0.0) if isinstance(value, bool) else coerce_number(value, f"{field}.{key}")
                if not 0.0 <= scale <= 100.0:
                    raise SimulationParamError(f"{field}.{key}", "must be between 0 and 100 (a scale factor)")
                values[key] = scale
        if "quantization_bits" in raw:
            bits = raw["quantization_bits"]
            if isinstance(bits, bool) or not isinstance(bits, int) or not (bits == 0 or 4 <= bits <= 24):
                raise SimulationParamError(f"{field}.quantization_bits", "must be 0 (off) or an integer 4..24")
            values["quantization_bits"] = bits
        if "noise_tau" in raw:
            tau = raw["noise_tau"]
            tau = coerce_number(tau, f"{field}.noise_tau") if not isinstance(tau, bool) else -1.0
            if not 0.0 <= tau <= 86_400.0:
                raise SimulationParamError(f"{field}.noise_tau", "must be seconds between 0 (white) and 86400")
            values["noise_tau"] = tau
        if "drift_model" in raw:
            if raw["drift_model"] not in DRIFT_MODELS:
                raise SimulationParamError(f"{field}.drift_model", f"must be one of {', '.join(DRIFT_MODELS)}")
            values["drift_model"] = raw["drift_model"]
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {"noise": self.noise, "drift": self.drift, "quantization_bits": self.quantization_bits,
                "noise_tau": self.noise_tau, "drift_model": self.drift_model}


class SensorBank:
    """Offsets (noise + drift) and quantisation steps for the sensor tags of one run."""

    def __init__(
        self,
        sensors: Sequence[TagSpec],
        options: SensorOptions,
        noise_rngs: Sequence[np.random.Generator],
        drift_rngs: Sequence[np.random.Generator],
        scan_period: float,
    ) -> None:
        self.options = options
        self.scan_period = scan_period
        self.noise_rngs = list(noise_rngs)
        self.drift_rngs = list(drift_rngs)
        self.sigma = np.array([t.noise for t in sensors]) * options.noise
        per_day = np.array([t.drift for t in sensors]) * options.drift
        # Linear drift: each instance's sensor gets a fixed rate drawn once, in units per second.
        self.drift_rate = (
            np.stack([rng.standard_normal(len(sensors)) for rng in drift_rngs], axis=-1)
            * per_day[:, None]
            / SECONDS_PER_DAY
        )
        self.walk = options.drift_model == "random_walk"
        # Random walk: std per scan so that the spread after one day is the tag's drift figure.
        self.walk_sigma = per_day * np.sqrt(scan_period / SECONDS_PER_DAY)
        self.phi = float(np.exp(-scan_period / options.noise_tau)) if options.noise_tau > 0 else 0.0
        # AR(1) innovations scaled so the stationary std stays the tag's noise figure.
        self.innovation = np.sqrt(1.0 - self.phi**2)
        self.noise_state: np.ndarray | None = None  # (sensors, instances), carried across blocks
        self.walk_state = np.zeros((len(sensors), len(self.noise_rngs)))
        self.low = [t.low for t in sensors]
        self.high = [t.high for t in sensors]
        self.has_noise = bool(np.any(self.sigma > 0))
        self.has_drift = bool(np.any(per_day > 0))
        bits = options.quantization_bits
        self.steps = [((t.high - t.low) / 2**bits if bits else 0.0) for t in sensors]
        self.quantised = [(i, q) for i, q in enumerate(self.steps) if q > 0]

    @property
    def active(self) -> bool:
        return self.has_noise or self.has_drift

    def offsets(self, first_scan: int, count: int) -> np.ndarray:
        """Additive errors for scans first_scan .. first_scan+count-1, shaped (count, sensors, instances)."""
        k = len(self.sigma)
        n = len(self.noise_rngs)
        out = np.zeros((count, k, n))
        if self.has_noise:
            noise = np.stack([rng.standard_normal((count, k)) for rng in self.noise_rngs], axis=-1)
            if self.phi:
                noise = self._recurse(noise, self.phi, self.innovation, "noise_state")
            out += noise * self.sigma[None, :, None]
        if self.has_drift and self.walk:
            steps = np.stack([rng.standard_normal((count, k)) for rng in self.drift_rngs], axis=-1)
            out += self._recurse(steps * self.walk_sigma[None, :, None], 1.0, 1.0, "walk_state")
        elif self.has_drift:
            t = (first_scan + np.arange(count)) * self.scan_period
            out += t[:, None, None] * self.drift_rate[None, :, :]
        return out

    def _recurse(self, e: np.ndarray, phi: float, gain: float, attr: str) -> np.ndarray:
        """x[k] = phi x[k-1] + gain e[k], scan by scan with the state carried between blocks, so the
        values are the same whatever the block size (a cumsum or lfilter would round differently)."""
        state = getattr(self, attr)
        out = np.empty_like(e)
        if state is None:  # AR(1) starts from its stationary distribution: the first draw as is
            state = e[0]
            out[0] = state
            first = 1
        else:
            first = 0
        for i in range(first, len(e)):
            state = phi * state + gain * e[i]
            out[i] = state
        setattr(self, attr, state)
        return out


# -- reading quality ----------------------------------------------------------------------------
# One code per reading, recorded in the dataset's `quality:<tag>` columns (int8) and published as the
# OPC UA StatusCode of the tag's node. The codes order by severity, so the worst of two is the max.
QUALITY_GOOD = 0  # OPC UA Good
QUALITY_RANGE = 1  # Uncertain_EngineeringUnitsExceeded: the transmitter is pinned at a range end
QUALITY_STALE = 2  # Uncertain_LastUsableValue: the device stopped answering, the value is held
QUALITY_BAD = 3  # Bad_SensorFailure: no usable value (not a finite number)
QUALITY_NAMES = {QUALITY_GOOD: "good", QUALITY_RANGE: "uncertain_range", QUALITY_STALE: "uncertain_stale",
                 QUALITY_BAD: "bad"}
# NAMUR NE 43: a 4-20 mA transmitter still measures down to 3.8 mA and up to 20.5 mA; only beyond
# that does its reading stop following the process (the input card flags under/over-range). As a
# fraction of the 16 mA span: 0.2/16 below the range, 0.5/16 above it.
UNDER_RANGE = 0.2 / 16.0
OVER_RANGE = 0.5 / 16.0


class RangeCheck:
    """Saturation at the transmitter range and the quality that goes with it, for the sensor tags."""

    def __init__(self, sensors: Sequence[TagSpec]) -> None:
        self.low = [t.low for t in sensors]
        self.high = [t.high for t in sensors]
        self.ulow = [t.low - UNDER_RANGE * (t.high - t.low) for t in sensors]
        self.uhigh = [t.high + OVER_RANGE * (t.high - t.low) for t in sensors]
        self.good = [QUALITY_GOOD] * len(sensors)

    def scalar(self, readings: list[float]) -> tuple[list[float], list[int]]:
        """Clipped readings and their quality, one instance (plain floats)."""
        out = [lo if v < lo else (hi if v > hi else v) for v, lo, hi in zip(readings, self.low, self.high, strict=True)]
        total = sum(out)
        if out == readings and total - total == 0.0:  # nothing clipped, all finite: the usual scan
            return out, self.good
        quality = None
        for j, (v, clipped) in enumerate(zip(readings, out, strict=True)):
            if v == clipped or self.ulow[j] <= v <= self.uhigh[j]:
                continue
            if quality is None:
                quality = list(self.good)
            quality[j] = QUALITY_BAD if v != v or v in (math.inf, -math.inf) else QUALITY_RANGE
        return out, quality if quality is not None else self.good

    def vector(self, readings: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Clipped readings and their quality, arrays over instances."""
        out, quality = [], []
        for j, v in enumerate(readings):
            q = np.where((v >= self.ulow[j]) & (v <= self.uhigh[j]), QUALITY_GOOD, QUALITY_RANGE)
            q = np.where(np.isfinite(v), q, QUALITY_BAD).astype(np.int8)
            out.append(np.clip(v, self.low[j], self.high[j]))
            quality.append(q)
        return out, quality

    def one(self, j: int, v: Any) -> tuple[Any, Any]:
        """One reading again after a field-stage attack changed it (scalar or array)."""
        if isinstance(v, np.ndarray):
            q = np.where((v >= self.ulow[j]) & (v <= self.uhigh[j]), QUALITY_GOOD, QUALITY_RANGE)
            return np.clip(v, self.low[j], self.high[j]), np.where(np.isfinite(v), q, QUALITY_BAD).astype(np.int8)
        if self.ulow[j] <= v <= self.uhigh[j]:
            return min(max(v, self.low[j]), self.high[j]), QUALITY_GOOD
        if not math.isfinite(v):
            return v, QUALITY_BAD
        return (self.low[j] if v < self.low[j] else self.high[j]), QUALITY_RANGE


class SampleHold:
    """An analyser: it samples every `interval` scans and reports each sample `delay` scans later
    (sample transport and analysis time), holding it until the next one arrives. A chlorine DPD
    analyser or an on-line chromatograph reports a few times an hour, minutes late; interval 1 and
    delay 0 pass every reading through."""

    __slots__ = ("delay", "interval", "pending", "value")

    def __init__(self, interval: int, delay: int) -> None:
        self.interval = max(1, interval)
        self.delay = max(0, delay)
        self.pending: list[tuple[int, Any]] = []
        self.value: Any = None

    def __call__(self, scan: int, reading: Any) -> Any:
        if self.value is None:  # the analyser shows its last result from before the run
            self.value = reading
        if scan % self.interval == 0:
            self.pending.append((scan + self.delay, reading.copy() if isinstance(reading, np.ndarray) else reading))
        while self.pending and self.pending[0][0] <= scan:
            self.value = self.pending.pop(0)[1]
        return self.value
