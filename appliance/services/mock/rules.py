"""Constraints applied while a block is built: derivations (``less_than``, ``linear``) and ranges.

Orderings are enforced by construction (right = left + a strictly positive gap), never by
rejecting rows, so they hold for every row and the random streams never depend on the data.
"""

from __future__ import annotations

import math

import numpy as np

from .columns import Block
from .distributions import Marginal
from .model import ColumnSpec, ConstraintSpec


def derive(col: ColumnSpec, rule: ConstraintSpec, block: Block) -> np.ndarray:
    """Values of a column derived by ``rule`` from columns already in the block.

    Overflow is not an error here: the engine checks every block it builds (``bounds``) and
    refuses the schema, naming this column, when a value left the float or int range.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return _derive(col, rule, block)


def _derive(col: ColumnSpec, rule: ConstraintSpec, block: Block) -> np.ndarray:
    p = rule.params
    if rule.kind == "less_than":
        left: np.ndarray = np.asarray(block.values[p["left"]])
        gap_spec = dict(p["gap"])
        dist = gap_spec.pop("distribution")
        gap = Marginal(dist, gap_spec, p["integer"]).sample(block.rng(col.name, "gap"), block.n)
        if p["integer"]:
            return left.astype(np.int64) + np.maximum(gap.astype(np.int64), 1)
        right = left + gap
        return np.where(right > left, right, np.nextafter(left, np.inf))
    source = np.asarray(block.values[p["source"]], dtype=np.float64)
    out = p["k"] * source + p["offset"]
    if p["noise_std"] > 0:
        out = out + p["noise_std"] * block.rng(col.name, "noise").standard_normal(block.n)
    if col.type == "int":
        return np.clip(np.rint(out), -(2.0**62), 2.0**62).astype(np.int64)
    return out


def clip(values: np.ndarray, rule: ConstraintSpec) -> np.ndarray:
    """Clamp to the rule's bounds; integer columns use the integers inside the bounds."""
    lo, hi = rule.params.get("min"), rule.params.get("max")
    if values.dtype.kind in "iu":
        lo = math.ceil(lo) if lo is not None else None
        hi = math.floor(hi) if hi is not None else None
        return np.clip(values, lo, hi).astype(values.dtype)
    return np.clip(values, lo, hi)
