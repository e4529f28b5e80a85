"""Numeric marginal distributions, all sampled by inverse transform.

Drawing ``u ~ U(0, 1)`` and mapping it through the inverse CDF serves three needs with one code
path: plain sampling, exact truncation to ``[min, max]`` (no rejection loop, so the row count and
the random stream stay fixed), and the Gaussian copula, which hands in correlated uniforms.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special, stats

PARAMS: dict[str, tuple[str, ...]] = {
    "uniform": ("min", "max"),
    "normal": ("mean", "std"),
    "lognormal": ("mu", "sigma"),
    "exponential": ("scale",),
    "gamma": ("shape", "scale"),
    "poisson": ("lam",),
    "binomial": ("n", "p"),
    "geometric": ("p",),
}
"""Required parameters of each distribution; ``min``/``max`` truncate all but ``uniform``."""

DISCRETE = frozenset({"poisson", "binomial", "geometric"})
POSITIVE_PARAMS = frozenset({"std", "sigma", "scale", "shape", "lam"})
_EPS = 2.0**-53
_TABLE_LIMIT = 4_000_000


def _frozen(dist: str, p: dict[str, Any]) -> Any:
    if dist == "normal":
        return stats.norm(p["mean"], p["std"])
    if dist == "lognormal":
        with np.errstate(over="ignore"):
            return stats.lognorm(p["sigma"], scale=float(np.exp(p["mu"])))
    if dist == "exponential":
        return stats.expon(scale=p["scale"])
    if dist == "gamma":
        return stats.gamma(p["shape"], scale=p["scale"])
    if dist == "poisson":
        return stats.poisson(p["lam"])
    if dist == "binomial":
        return stats.binom(int(p["n"]), p["p"])
    if dist == "geometric":
        return stats.geom(p["p"])
    raise ValueError(f"unknown distribution {dist!r}")


class Marginal:
    """One column's distribution with optional truncation and rounding."""

    def __init__(self, dist: str, params: dict[str, Any], integer: bool = False) -> None:
        self.dist = dist
        self.params = params
        self.integer = integer or dist in DISCRETE
        self.lo: float | None = params.get("min")
        self.hi: float | None = params.get("max")
        self.decimals: int | None = params.get("decimals")
        self._scipy: Any = None  # scipy's frozen distribution, built only when needed (~1 ms each)
        self._a, self._b = self._cdf_bounds()
        self._table: tuple[int, np.ndarray] | None = None

    @property
    def _frozen(self) -> Any:
        if self._scipy is None:
            self._scipy = _frozen(self.dist, self.params)
        return self._scipy

    def _cdf_bounds(self) -> tuple[float, float]:
        if self.dist == "uniform" or (self.lo is None and self.hi is None):
            return 0.0, 1.0
        below = self.lo - 1 if (self.lo is not None and self.dist in DISCRETE) else self.lo
        a = float(self._frozen.cdf(below)) if below is not None else 0.0
        b = float(self._frozen.cdf(self.hi)) if self.hi is not None else 1.0
        return a, b

    @property
    def mass(self) -> float:
        """Probability the untruncated distribution puts inside ``[min, max]``."""
        return self._b - self._a

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.from_uniform(rng.random(n))

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        """Map uniforms in [0, 1) to values; float64, or int64 for integer columns."""
        u = np.clip(u, _EPS, 1.0 - _EPS)
        if self.dist == "uniform":
            return self._uniform(u)
        return self._finish(self._raw(u))

    def extremes(self) -> tuple[float, float]:
        """Bounds on the values before clipping to ``[min, max]`` and rounding.

        Every map from ``u`` to a value is monotone, so all samples (and copula draws) lie between
        these two. A non-finite extreme means the parameters overflow float64.
        """
        if self.dist == "uniform":
            return float(self.params["min"]), float(self.params["max"])
        u = np.array([_EPS, 1.0 - _EPS])
        with np.errstate(over="ignore", invalid="ignore"):
            q = self._a + u * (self._b - self._a)
            p = self.params
            # scipy's own inverse CDFs, without building frozen objects (~1 ms each) or CDF tables;
            # the discrete ones are bounds (one above the quantile, or the support), enough for a range check
            if self.dist == "gamma":
                x = special.gammaincinv(p["shape"], q) * p["scale"]
            elif self.dist == "poisson":
                x = np.ceil(special.pdtrik(q, p["lam"]))
            elif self.dist == "binomial":
                x = np.array([0.0, float(p["n"])])
            elif self.dist == "geometric":
                x = np.ceil(np.log1p(-q) / np.log1p(-p["p"])) if p["p"] < 1.0 else np.ones_like(q)
            else:
                x = self._raw(u)
        return float(x[0]), float(x[1])

    def _raw(self, u: np.ndarray) -> np.ndarray:
        q = self._a + u * (self._b - self._a)
        if self.dist in DISCRETE:
            x = self._discrete_ppf(q)
        elif self.dist == "normal":
            x = self.params["mean"] + self.params["std"] * special.ndtri(q)
        elif self.dist == "lognormal":
            x = np.exp(self.params["mu"] + self.params["sigma"] * special.ndtri(q))
        elif self.dist == "exponential":
            x = -self.params["scale"] * np.log1p(-q)
        else:
            x = np.asarray(self._frozen.ppf(q), dtype=np.float64)
        return x

    def _uniform(self, u: np.ndarray) -> np.ndarray:
        lo, hi = float(self.params["min"]), float(self.params["max"])
        if self.integer:
            return np.minimum(np.floor(lo + u * (hi - lo + 1.0)), hi).astype(np.int64)
        if math.isfinite(hi - lo):
            return self._finish(lo + u * (hi - lo))
        # hi - lo overflows (e.g. ±1.7e308): interpolate around the midpoint, which never does
        mid, half = lo / 2 + hi / 2, hi / 2 - lo / 2
        return self._finish(mid + (2.0 * u - 1.0) * half)

    def _discrete_ppf(self, q: np.ndarray) -> np.ndarray:
        """Inverse CDF by lookup in a cached CDF table (scipy's ``ppf`` is ~30x slower)."""
        if self._table is None:
            k_lo = self.lo if self.lo is not None else self._frozen.ppf(1e-15)
            k_hi = self.hi if self.hi is not None else self._frozen.ppf(1.0 - 1e-15)
            k_lo, k_hi = int(max(k_lo, self._frozen.support()[0])), int(k_hi)
            if k_hi - k_lo > _TABLE_LIMIT:
                return np.asarray(self._frozen.ppf(q), dtype=np.float64)
            ks = np.arange(k_lo, k_hi + 1)
            self._table = (k_lo, np.asarray(self._frozen.cdf(ks), dtype=np.float64))
        k_lo, cdf = self._table
        idx = np.minimum(np.searchsorted(cdf, q, side="left"), cdf.size - 1)
        return (k_lo + idx).astype(np.float64)

    def _finish(self, x: np.ndarray) -> np.ndarray:
        if self.lo is not None or self.hi is not None:
            x = np.clip(x, self.lo, self.hi)
        if self.integer:
            lo = math.ceil(self.lo) if self.lo is not None else -(2**62)
            hi = math.floor(self.hi) if self.hi is not None else 2**62
            return np.clip(np.rint(x), lo, hi).astype(np.int64)
        if self.decimals is not None:
            # np.round scales by 10**decimals, which overflows near the float limit; floats of
            # magnitude >= 2**52 are whole numbers already, so they are left as they are
            with np.errstate(over="ignore", invalid="ignore"):
                return np.where(np.abs(x) < 2.0**52, np.round(x, self.decimals), x)
        return np.asarray(x, dtype=np.float64)
