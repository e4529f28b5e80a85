"""Two interchangeable math back-ends so one model source runs a single plant fast and many plants at once.

NumPy pays ~0.3 us per call whatever the array size, which dominates a single plant instance
(a day at 1 Hz is ~10^7 small operations). Plain Python floats cost ~0.03 us per operation. Every
model in this package is therefore written once against an `Ops` object:

* `ScalarOps`: each value is a Python `float` / `bool` (one instance, e.g. live stepping or a
  single-instance dataset);
* `ArrayOps`: each value is a 1-D NumPy array over instances (vectorised batch runs).

Models use arithmetic operators directly and call `ops.<fn>` for anything else, and never branch
on a value with `if`. `Num` is the type of such a value (`float | bool | ndarray`), spelled `Any`
so mypy accepts arithmetic on either back-end.
"""

from __future__ import annotations

import math
from typing import Any, Protocol, cast

import numpy as np

Num = Any


class Ops(Protocol):
    """What model code may call; both back-ends provide it."""

    vector: bool
    n: int

    def exp(self, x: Any) -> Any: ...
    def sqrt(self, x: Any) -> Any: ...
    def maximum(self, a: Any, b: Any) -> Any: ...
    def minimum(self, a: Any, b: Any) -> Any: ...
    def clip(self, x: Any, lo: Any, hi: Any) -> Any: ...
    def where(self, cond: Any, a: Any, b: Any) -> Any: ...
    def not_(self, cond: Any) -> Any: ...
    def round(self, x: Any) -> Any: ...
    def full(self, value: Any) -> Any: ...
    def full_bool(self, value: Any) -> Any: ...
    def any(self, cond: Any) -> bool: ...
    def max_abs(self, values: list[Any]) -> float: ...
    def column(self, block: np.ndarray) -> list[Any]: ...


class ScalarOps:
    """Python-float back-end for a single instance."""

    vector = False
    n = 1
    # C functions bound directly: no Python frame per call on the hot path.
    exp = staticmethod(math.exp)
    sqrt = staticmethod(math.sqrt)
    maximum = staticmethod(max)
    minimum = staticmethod(min)

    @staticmethod
    def clip(x: float, lo: float, hi: float) -> float:
        return lo if x < lo else (hi if x > hi else x)

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        return a if cond else b

    @staticmethod
    def not_(cond: Any) -> bool:
        return not cond

    @staticmethod
    def round(x: float) -> float:
        return float(round(x))

    @staticmethod
    def full(value: float) -> float:
        return float(value)

    @staticmethod
    def full_bool(value: Any) -> bool:
        return bool(value)

    @staticmethod
    def any(cond: Any) -> bool:
        return bool(cond)

    @staticmethod
    def max_abs(values: list[Any]) -> float:
        return max(abs(v) for v in values)

    @staticmethod
    def column(block: np.ndarray) -> list[Any]:
        """Per-scan rows of a precomputed block shaped (count, k, n): lists of Python floats."""
        return block[:, :, 0].tolist()  # type: ignore[no-any-return]


class ArrayOps:
    """NumPy back-end: every value is an array of shape (n,) over plant instances."""

    vector = True
    exp = staticmethod(np.exp)
    sqrt = staticmethod(np.sqrt)
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)
    where = staticmethod(np.where)
    not_ = staticmethod(np.logical_not)
    round = staticmethod(np.rint)  # ufunc; half to even like Python's round()

    def __init__(self, n: int) -> None:
        self.n = n

    @staticmethod
    def clip(x: Any, lo: Any, hi: Any) -> Any:
        # np.clip costs ~2x two ufunc calls on small arrays (argument checking in Python).
        return np.minimum(np.maximum(x, lo), hi)

    def full(self, value: Any) -> np.ndarray:
        return np.full(self.n, value, dtype=np.float64)

    def full_bool(self, value: Any) -> np.ndarray:
        return np.full(self.n, bool(value), dtype=bool)

    @staticmethod
    def any(cond: Any) -> bool:
        return bool(np.any(cond))

    @staticmethod
    def max_abs(values: list[Any]) -> float:
        return max(float(np.max(np.abs(v))) for v in values)

    @staticmethod
    def column(block: np.ndarray) -> list[Any]:
        """Per-scan rows of a precomputed block shaped (count, k, n): (k, n) array views."""
        return list(block)


def make_ops(n: int, vectorised: bool | None = None) -> Ops:
    """Scalar back-end for one instance unless the caller insists on arrays (used by tests)."""
    if vectorised is None:
        vectorised = n > 1
    if not vectorised and n != 1:
        raise ValueError("the scalar back-end runs exactly one instance")
    return cast(Ops, ArrayOps(n) if vectorised else ScalarOps())
