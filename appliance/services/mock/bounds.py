"""Every generated value is finite and inside its type's range, or the schema is refused.

float64 overflows to ``inf`` past ±1.8e308 (``mean + std * z``, ``exp(mu + sigma * z)``,
``left + gap``): ``inf`` is not JSON, not a reading, and clipped to a bound it turns every row
into that bound. Int columns hold integers within ±2**53, the range the schema's own ``min`` and
``max`` accept and that float arithmetic keeps exact. Dates and timestamps stay within the years
1 to 9999, which ISO 8601 text (previews, CSV, JSON Lines) can spell.

Checked twice: on the parameters when a schema is validated, so a bad schema is a 400 before any
job runs; and on each block as it is built, for what only the data decides (derived columns, and
sequences of child tables, whose row count depends on the seed).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from .distributions import Marginal
from .errors import SchemaError
from .model import ColumnSpec

FLOAT_MAX = float(np.finfo(np.float64).max)
INT_LIMIT = 2**53
_EPOCH = dt.datetime(1970, 1, 1)
TEMPORAL_LIMITS: dict[str, tuple[int, int]] = {
    "date": ((dt.date(1, 1, 1) - _EPOCH.date()).days, (dt.date(9999, 12, 31) - _EPOCH.date()).days),
    "timestamp": (
        int((dt.datetime(1, 1, 1) - _EPOCH).total_seconds()),
        int((dt.datetime(9999, 12, 31, 23, 59, 59) - _EPOCH).total_seconds()),
    ),
    "time": (0, 86_399),
}
_CHECKED_AT_RUNTIME = frozenset({"derived", "sequence"})


def _limits(ctype: str) -> tuple[float, float, str] | None:
    if ctype == "int":
        return -INT_LIMIT, INT_LIMIT, "±2**53 (9007199254740992), the int range"
    if ctype in TEMPORAL_LIMITS:
        lo, hi = TEMPORAL_LIMITS[ctype]
        return lo, hi, f"the {ctype} range (years 1 to 9999)"
    return None


def check_marginal(marginal: Marginal, path: str, label: str) -> None:
    """Refuse parameters whose draws overflow float64, or an int column's range."""
    lo, hi = marginal.extremes()
    bound_lo = -math.inf if marginal.lo is None else marginal.lo
    bound_hi = math.inf if marginal.hi is None else marginal.hi
    lo, hi = (min(max(v, bound_lo), bound_hi) for v in (lo, hi))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise SchemaError(
            path,
            f"{label}: {marginal.dist} with these parameters draws values beyond the float range "
            f"(±{FLOAT_MAX:.4g}); use smaller parameters or bound the values with min and max",
        )
    if marginal.integer and max(abs(lo), abs(hi)) > INT_LIMIT:
        raise SchemaError(
            path,
            f"{label}: {marginal.dist} with these parameters draws integers up to {max(abs(lo), abs(hi)):.4g}, "
            f"beyond ±2**53 (9007199254740992); use smaller parameters or bound the values with min and max",
        )


def check_sequence(col: ColumnSpec, rows: int) -> None:
    """A sequence's last value must stay inside its type's range."""
    limits = _limits(col.type)
    if limits is None or rows < 1:
        return
    low, high, name = limits
    last = col.params["start"] + col.params["step"] * (rows - 1)
    if not low <= last <= high:
        raise SchemaError(
            f"{col.path}.step",
            f"column {col.name!r}: row {rows:,} of this sequence would be {last}, outside {name}; "
            "use a smaller step or fewer rows",
        )


def check_block(col: ColumnSpec, values: object) -> None:
    """Values just built for ``col``: floats finite, derived and sequence values in range."""
    if not isinstance(values, np.ndarray) or values.size == 0:
        return
    if values.dtype.kind == "f":
        if not np.isfinite(values).all():
            raise SchemaError(
                col.path,
                f"column {col.name!r} computes values beyond the float range (±{FLOAT_MAX:.4g}); "
                "use smaller parameters in the rules that derive it, or bound it with a range constraint",
            )
        return
    limits = _limits(col.type)
    if limits is None or col.generator not in _CHECKED_AT_RUNTIME:
        return
    low, high, name = limits
    if values.min() < low or values.max() > high:
        raise SchemaError(
            col.path,
            f"column {col.name!r} computes values outside {name}; "
            "use smaller gaps or factors in the rules that derive it",
        )
