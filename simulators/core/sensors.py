"""Sensor imperfections: white noise, slow drift and ADC quantisation, as run options.

Noise and drift do not depend on the plant state, so they are drawn ahead of time in blocks
(one NumPy call per block instead of one per scan) from a generator per instance. That also keeps
them identical whether or not an attack changes the process, which is what lets a test compare
an attacked run with its baseline row by row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulators.core.params import coerce_number
from simulators.core.tags import TagSpec
from simulators.errors import SimulationParamError

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class SensorOptions:
    """`noise` and `drift` scale each tag's nominal figures (0 switches them off); `quantization_bits`
    rounds readings to the step of an ADC of that many bits over the tag range (0 = off)."""

    noise: float = 1.0
    drift: float = 0.0
    quantization_bits: int = 0

    @classmethod
    def parse(cls, raw: Any, field: str = "sensors") -> SensorOptions:
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise SimulationParamError(field, "must be an object with noise, drift, quantization_bits")
        unknown = sorted(set(raw) - {"noise", "drift", "quantization_bits"})
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
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {"noise": self.noise, "drift": self.drift, "quantization_bits": self.quantization_bits}


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
        self.sigma = np.array([t.noise for t in sensors]) * options.noise
        per_day = np.array([t.drift for t in sensors]) * options.drift
        # Drift: each instance's sensor gets a fixed rate drawn once, in units per second.
        self.drift_rate = (
            np.stack([rng.standard_normal(len(sensors)) for rng in drift_rngs], axis=-1)
            * per_day[:, None]
            / SECONDS_PER_DAY
        )
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
            out += noise * self.sigma[None, :, None]
        if self.has_drift:
            t = (first_scan + np.arange(count)) * self.scan_period
            out += t[:, None, None] * self.drift_rate[None, :, :]
        return out
