"""How each column of a time series enters the regime-switching VAR (``regime_var``) and comes back out.

A vector autoregression is linear and Gaussian; plant tags are not (a flow is 0 while its pump
is off and ~300 m3/h while it runs, a totaliser only grows, a pump is on or off). Each column is
therefore mapped to a role before the model sees it:

- ``continuous``: numbers with many values, standardised (value minus mean, over the standard
  deviation) and written back clipped to the training range. Standardised values rather than the
  normal scores of a Gaussian copula: a flow that is 0 while its pump is off and ~575 m3/h while
  it runs has two clean levels that the regime's intercepts carry, where its normal scores put
  both states next to each other and the VAR's noise leaks from one into the other (measured: a
  copula version gave the intake flow a lag-1 of 0.54 against the real 0.998). Values the tag
  sits on for long stretches (``atoms``: a valve shut or open) get a discrete indicator that joins
  the regime, and sample-and-hold tags (an analyser reporting once a minute) keep their hold times.
- ``counter``: numbers that never decrease within a sequence (volume totalisers). Their increments
  are modelled as a continuous column and summed back from a start value, so the output keeps
  growing at the rate the flows imply instead of wandering.
- ``discrete``: bools, text, and numbers with at most ``MAX_LEVELS`` values (pump states, modes,
  alarms, labels). They form the model's regime (see ``regime_var``), or, when their combinations
  are too many for that, a latent Gaussian cut at thresholds (``latent``: score = the conditional
  mean of a standard normal inside the level's band).
- ``constant``: one value (or all missing) in the training rows: written back as is.

Missing values in a continuous column are filled forward for the model and put back at the real
share, independently per row (plant historians rarely have them; said in docs/synthesis.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import special, stats

if TYPE_CHECKING:
    import pandas as pd

MAX_LEVELS = 12
MIN_COUNTER_VALUES = 10
HOLD_SHARE = 0.5
ATOM_SHARE = 0.1
MAX_ATOMS = 3
ATOM_PERSISTENCE = 0.98
ATOM_SUFFIX = "\x00atom"
MAX_RUNS = 64
CONSTANT, CONTINUOUS, COUNTER, DISCRETE = "constant", "continuous", "counter", "discrete"


@dataclass
class ColumnPlan:
    """One column's role and what it needs to be written back (JSON-able: kept in the model file)."""

    name: str
    role: str
    dtype: str
    """``bool``, ``int``, ``float``, ``datetime`` or ``object``: the dtype written back."""
    low: float = 0.0
    high: float = 0.0
    integer: bool = False
    levels: list[Any] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)
    value: Any = None
    null_share: float = 0.0
    latent: bool = False
    """Discrete only: modelled as a thresholded latent score instead of as part of the regime."""
    center: float = 0.0
    scale: float = 1.0
    atoms: list[float] = field(default_factory=list)
    """Continuous only: values the tag sits on for long stretches (a valve shut at 0 or open at 65,
    a dosing pump stopped at 0). Which one it is on, or none (``len(atoms)``: moving), is a
    discrete column of its own (``indicator_of`` this one) that joins the regime, so the tag holds
    exactly that value while the regime says so."""
    indicator_of: str = ""
    runs: list[int] = field(default_factory=list)
    run_probs: list[float] = field(default_factory=list)
    """Continuous only, for a sample-and-hold tag (an analyser that reports once a minute): how
    many rows a value is held, and how often; the output holds the modelled value that long."""
    profile: dict[str, Any] = field(default_factory=dict)
    """Continuous and counter: the time-of-day profile added to the latent (``sequence_clock``)."""
    noise: float = 0.0
    """Continuous: the reading's white-noise variance in latent units, added back on output."""
    schedule: dict[str, Any] = field(default_factory=dict)
    """Discrete: steps at learnt times of day (a setpoint schedule, ``sequence_clock``); the
    regime is moved to the new value at those times."""
    tie: str = ""
    tie_coef: list[float] = field(default_factory=list)
    """Counter: the continuous column its increments follow (``a + b * value``, a totaliser of a
    flow), when the training rows show it; the increments then come from that column's state."""
    rate: dict[str, Any] = field(default_factory=dict)
    """Counter: its increments' mean and time-of-day profile (value units): the daily volume the
    written-back total is pulled towards (``regime_var.PIN_ROWS``)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def dtype_of(series: pd.Series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    return "object"


def plain(value: Any) -> Any:
    """A cell as a JSON value: numpy scalars as Python ones, any missing value as None."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover - pandas is always there with the synth extra
        pass
    return value


def numbers(series: pd.Series) -> np.ndarray:
    """A numeric, bool or datetime column as float64 (datetimes as ns since the epoch; NaN missing)."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.astype("datetime64[ns]")
        out = values.to_numpy().astype("int64").astype(float)
        out[values.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def is_counter(values: np.ndarray, starts: np.ndarray) -> bool:
    """Never decreasing within a sequence (``starts``: each row begins a new one), many values."""
    if np.isnan(values).any() or len(np.unique(values)) < MIN_COUNTER_VALUES:
        return False
    steps = np.diff(values)
    within = ~starts[1:]
    return bool(within.any() and np.all(steps[within] >= 0) and np.any(steps[within] > 0))


def increments(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Each row minus the previous row of its sequence; 0 on a sequence's first row."""
    out = np.zeros_like(values)
    out[1:] = np.diff(values)
    out[starts] = 0.0
    return out


def plan_columns(
    frame: pd.DataFrame, names: list[str], starts: np.ndarray, sdtypes: dict[str, str]
) -> list[ColumnPlan]:
    """Each column's role, fitted on the ordered training rows (``starts``: sequence beginnings)."""
    import pandas as pd

    plans = []
    for name in names:
        series = frame[name]
        dtype = dtype_of(series)
        distinct = series.dropna().unique()
        if len(distinct) == 0 or (len(distinct) == 1 and not series.isna().any()):
            value = next((v for v in cells(series) if v is not None), None)
            plans.append(ColumnPlan(name, CONSTANT, dtype, value=value, null_share=float(series.isna().mean())))
            continue
        numeric = dtype in ("int", "float", "datetime")
        categorical = sdtypes.get(name) in ("categorical", "boolean")
        if not numeric or dtype == "bool" or (categorical and len(distinct) <= 10 * MAX_LEVELS) \
                or len(distinct) <= MAX_LEVELS:
            plans.append(_discrete(name, dtype, series))
            continue
        values = numbers(series)
        if dtype != "datetime" and is_counter(values, starts):
            steps = increments(values, starts)[~starts]
            plans.append(ColumnPlan(name, COUNTER, dtype, low=float(steps.min()), high=float(steps.max()),
                                    integer=bool(np.all(values == np.round(values))),
                                    center=float(steps.mean()), scale=_scale(steps)))
            continue
        finite = values[np.isfinite(values)]
        plan = ColumnPlan(name, CONTINUOUS, dtype, low=float(finite.min()), high=float(finite.max()),
                          integer=dtype != "datetime" and bool(np.all(finite == np.round(finite))),
                          null_share=float(pd.isna(series).mean()),
                          center=float(finite.mean()), scale=_scale(finite))
        plan.runs, plan.run_probs = held_runs(values, starts)
        plan.atoms = find_atoms(values, starts)
        plans.append(plan)
        if plan.atoms:
            indicator = atom_codes(values, plan.atoms)
            shares = np.bincount(indicator, minlength=len(plan.atoms) + 1) / len(indicator)
            plans.append(ColumnPlan(name + ATOM_SUFFIX, DISCRETE, "int", levels=list(range(len(plan.atoms) + 1)),
                                    probs=[float(v) for v in shares], indicator_of=name))
    return plans


def atom_codes(values: np.ndarray, atoms: list[float]) -> np.ndarray:
    """Which atom each value sits on (its index), or ``len(atoms)`` for none."""
    out = np.full(len(values), len(atoms), dtype=np.int64)
    for i, atom in enumerate(atoms):
        out[values == atom] = i
    return out


def find_atoms(values: np.ndarray, starts: np.ndarray) -> list[float]:
    """Values held by at least ``ATOM_SHARE`` of the rows (at most ``MAX_ATOMS``), kept only when
    the tag stays on or off them from row to row (``ATOM_PERSISTENCE``): plateaus, not noise that
    happens to hit 0."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return []
    found, counted = np.unique(finite, return_counts=True)
    common = counted >= ATOM_SHARE * len(values)
    atoms = [float(v) for v in found[common][np.argsort(-counted[common], kind="stable")][:MAX_ATOMS]]
    if not atoms:
        return []
    codes = atom_codes(values, atoms)
    same = codes[1:] == codes[:-1]
    inside = ~starts[1:]
    if not inside.any() or same[inside].mean() < ATOM_PERSISTENCE:
        return []
    return sorted(atoms)


def held_runs(values: np.ndarray, starts: np.ndarray) -> tuple[list[int], list[float]]:
    """Run lengths of repeated values and their shares, when at least ``HOLD_SHARE`` of the rows
    repeat the previous one (a sample-and-hold tag); empty otherwise. Runs cut by a sequence start
    or the end are left out; the ``MAX_RUNS`` commonest lengths are kept."""
    if len(values) < 3:
        return [], []
    changed = np.ones(len(values), dtype=bool)
    changed[1:] = ~np.isclose(values[1:], values[:-1], rtol=0.0, atol=0.0, equal_nan=True)
    changed |= starts
    if 1.0 - changed[1:].mean() < HOLD_SHARE:
        return [], []
    edges = np.flatnonzero(changed)
    lengths = np.diff(edges)
    whole = ~starts[edges[1:]]  # the run ends at a change inside its sequence
    lengths = lengths[whole]
    if not len(lengths):
        return [], []
    found, counted = np.unique(lengths, return_counts=True)
    keep = np.sort(np.argsort(-counted, kind="stable")[:MAX_RUNS])
    return [int(v) for v in found[keep]], [float(c) for c in counted[keep] / counted[keep].sum()]


def hold(values: np.ndarray, plan: ColumnPlan, carry: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """Hold each modelled value for a run length drawn from ``plan.runs``; ``carry`` keeps the held
    value and the rows left across blocks of one sequence."""
    out = np.empty_like(values)
    cumulative = np.cumsum(plan.run_probs)
    draws = rng.random(len(values))
    value, left = carry.get("value"), int(carry.get("left", 0))
    for i in range(len(values)):
        if left <= 0 or value is None:
            value = values[i]
            left = plan.runs[min(int(np.searchsorted(cumulative, draws[i], side="right")), len(plan.runs) - 1)]
        out[i] = value
        left -= 1
    carry["value"], carry["left"] = value, left
    return out


def cells(series: pd.Series) -> list[Any]:
    """A column's values as JSON values (datetimes as ns since the epoch, missing as None)."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        return [None if np.isnan(v) else int(v) for v in numbers(series)]
    return [plain(v) for v in series.tolist()]


def _discrete(name: str, dtype: str, series: pd.Series) -> ColumnPlan:
    """Levels in a fixed order (numbers ascending, then text by frequency), missing as a level."""
    counts: dict[Any, int] = {}
    for key in cells(series):
        counts[key] = counts.get(key, 0) + 1
    keys = list(counts)
    numeric = [k for k in keys if isinstance(k, int | float) and not isinstance(k, bool) and k is not None]
    others = [k for k in keys if k not in numeric]
    others.sort(key=lambda k: (-counts[k], str(k)))
    levels = sorted(numeric) + others
    total = float(len(series))
    return ColumnPlan(name, DISCRETE, dtype, levels=levels, probs=[counts[k] / total for k in levels])


def _scale(values: np.ndarray) -> float:
    spread = float(values.std())
    return spread if spread > 0 else 1.0


def encode(values: np.ndarray, plan: ColumnPlan) -> np.ndarray:
    """A continuous column (or a counter's increments) as the model's latent: standardised values."""
    return (values - plan.center) / plan.scale


def decode(latent: np.ndarray, plan: ColumnPlan) -> np.ndarray:
    """Latent back to values, clipped to the training range (rounded for whole-number columns)."""
    out = np.clip(latent * plan.scale + plan.center, plan.low, plan.high)
    return np.round(out) if plan.integer else out


def codes(series: pd.Series, plan: ColumnPlan) -> np.ndarray:
    """Each row's level number in ``plan.levels`` (a value not seen in training: the commonest)."""
    index = {repr(level): i for i, level in enumerate(plan.levels)}
    commonest = int(np.argmax(plan.probs))
    return np.array([index.get(repr(v), commonest) for v in cells(series)], dtype=np.int64)


def _bands(plan: ColumnPlan) -> np.ndarray:
    edges = np.concatenate([[0.0], np.cumsum(plan.probs)])
    edges[-1] = 1.0
    return np.asarray(special.ndtri(np.clip(edges, 0.0, 1.0)))


def latent_scores(level_codes: np.ndarray, plan: ColumnPlan) -> np.ndarray:
    """A discrete column as the mean of a standard normal within each level's band."""
    bands = _bands(plan)
    low, high = bands[:-1], bands[1:]
    mass = np.maximum(special.ndtr(high) - special.ndtr(low), 1e-12)
    means = (stats.norm.pdf(low) - stats.norm.pdf(high)) / mass
    return np.asarray(means[level_codes])


def latent_codes(scores: np.ndarray, plan: ColumnPlan) -> np.ndarray:
    """Level numbers for latent scores: the band each score falls in."""
    inner = _bands(plan)[1:-1]
    return np.searchsorted(inner, scores, side="right").astype(np.int64)


def level_values(level_codes: np.ndarray, plan: ColumnPlan) -> list[Any]:
    return [plan.levels[c] for c in level_codes.tolist()]


def write_back(values: Any, plan: ColumnPlan, rows: int) -> Any:
    """A sampled column in the dtype it came in (missing values widen ints and bools to objects)."""
    import pandas as pd

    if plan.role == CONSTANT:
        values = [plan.value] * rows
    if plan.role == DISCRETE or plan.role == CONSTANT:
        if plan.dtype == "datetime":
            return pd.to_datetime(pd.Series([np.nan if v is None else v for v in values], dtype=float), unit="ns")
        if any(v is None for v in values):
            if plan.dtype == "float":
                return pd.Series([np.nan if v is None else v for v in values], dtype=float)
            return pd.Series(values, dtype=object)
        if plan.dtype in ("bool", "int", "float"):
            return pd.Series(values).astype({"bool": bool, "int": "int64", "float": float}[plan.dtype])
        return pd.Series(values, dtype=object)
    array = np.asarray(values, dtype=float)
    if plan.dtype == "datetime":
        stamps = np.round(array).astype("int64").astype("datetime64[ns]")
        out = pd.Series(stamps)
        return out.mask(np.isnan(array)) if np.isnan(array).any() else out
    if plan.dtype == "int" and not np.isnan(array).any():
        return pd.Series(np.round(array).astype("int64"))
    return pd.Series(array)
