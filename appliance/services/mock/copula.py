"""Correlated numeric columns through a Gaussian copula, tuned so the OUTPUT hits the target.

A copula with correlation rho gives Pearson correlation rho only when both marginals are normal;
lognormal, Poisson or truncated marginals shrink it. So for each pair we solve for the copula
correlation whose output Pearson correlation equals the target (the NORTA method), integrating
with a fixed scrambled-Sobol sample (deterministic, common random numbers across pairs). Targets
that no copula can reach with those marginals are clamped to the nearest reachable value; the
adjusted matrix is projected back to positive definite if needed.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import optimize, special
from scipy.stats import qmc

from .distributions import Marginal

_RHO_LIMIT = 0.999
_QMC_LOG2 = 14


@lru_cache(maxsize=1)
def _normal_pairs() -> tuple[np.ndarray, np.ndarray]:
    u = qmc.Sobol(d=2, scramble=True, seed=20_240_601).random_base2(_QMC_LOG2)
    u = np.clip(u, 1e-12, 1 - 1e-12)
    return special.ndtri(u[:, 0]), special.ndtri(u[:, 1])


def _is_plain_normal(m: Marginal) -> bool:
    return m.dist == "normal" and not m.integer and m.lo is None and m.hi is None and m.decimals is None


class _Pair:
    """Output Pearson correlation of two marginals as a function of the copula correlation."""

    def __init__(self, a: Marginal, b: Marginal) -> None:
        self.z1, self.z3 = _normal_pairs()
        self.fa = a.from_uniform(special.ndtr(self.z1)).astype(np.float64)
        self.b = b
        self.mean_a, self.sd_a = self.fa.mean(), self.fa.std()
        fb = b.from_uniform(special.ndtr(self.z1)).astype(np.float64)
        self.mean_b, self.sd_b = fb.mean(), fb.std()

    def __call__(self, rho: float) -> float:
        if self.sd_a == 0 or self.sd_b == 0:
            return 0.0
        z2 = rho * self.z1 + np.sqrt(1.0 - rho * rho) * self.z3
        fb = self.b.from_uniform(special.ndtr(z2)).astype(np.float64)
        return float(((self.fa - self.mean_a) * (fb - self.mean_b)).mean() / (self.sd_a * self.sd_b))


def copula_rho(a: Marginal, b: Marginal, target: float) -> float:
    """The copula correlation that gives output Pearson correlation ``target`` (or the closest)."""
    if target == 0.0:
        return 0.0
    if _is_plain_normal(a) and _is_plain_normal(b):
        return target
    pair = _Pair(a, b)
    lo, hi = pair(-_RHO_LIMIT), pair(_RHO_LIMIT)
    if target <= lo:
        return -_RHO_LIMIT
    if target >= hi:
        return _RHO_LIMIT
    return float(optimize.brentq(lambda r: pair(r) - target, -_RHO_LIMIT, _RHO_LIMIT, xtol=1e-5))


def _nearest_correlation(m: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    vals, vecs = np.linalg.eigh(m)
    fixed = (vecs * np.maximum(vals, floor)) @ vecs.T
    d = np.sqrt(np.diag(fixed))
    return fixed / np.outer(d, d)


def copula_cholesky(marginals: list[Marginal], target: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of the adjusted copula correlation matrix."""
    k = len(marginals)
    adjusted = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            adjusted[i, j] = adjusted[j, i] = copula_rho(marginals[i], marginals[j], float(target[i, j]))
    if np.linalg.eigvalsh(adjusted).min() <= 1e-8:
        adjusted = _nearest_correlation(adjusted)
    return np.linalg.cholesky(adjusted)


def correlated_uniforms(rng: np.random.Generator, n: int, chol: np.ndarray) -> np.ndarray:
    """``(n, k)`` uniforms whose normal scores have correlation ``chol @ chol.T``."""
    z = rng.standard_normal((n, chol.shape[0])) @ chol.T
    return special.ndtr(z)
