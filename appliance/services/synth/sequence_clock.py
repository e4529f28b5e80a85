"""The day's clock and the sensors' noise for ``regime_var``: what a VAR on raw readings gets wrong.

Two things made a synthetic day of plant telemetry easy to tell from the real one (issue #20,
docs/benchmarks.md "Sequences"):

- **The clock.** A plant follows the time of day: the town's demand curve, an operator's setpoint
  schedule, a totaliser that grows faster in the morning peak. A stationary VAR knows none of it.
  ``fit_profile`` learns, per latent column, an additive time-of-day profile (bin means over the
  training rows, linearly interpolated between bin centres around the clock) at the bin width with
  the best held-out likelihood, or none when no width beats a flat line by ``MIN_GAIN`` nats a row.
  Discrete number columns that change only a few times a day (setpoints) get a ``schedule``:
  step changes at the learnt times of day, which sampling imposes on the regime. Totalisers
  follow their flow (``ties``) and are pulled towards their learnt volume by time of day
  (``rates``). With one training day a profile is
  that day's 5-60 min means and a schedule its step times: aggregates, not rows (the privacy report
  shows how far synthetic rows are from training rows).
- **Measurement noise.** A level read with white noise of 5 mm is a smooth process plus noise; a
  VAR fitted on the readings takes the noise for innovations, and its runs wander like a random
  walk with steps the size of the noise. ``noise_variance`` estimates each sensor's white-noise
  variance from the autocovariances of its first differences (for ``y = x + v`` with smooth ``x``:
  ``cov(dy_t, dy_t-2) - cov(dy_t, dy_t-1) = var(v)``, exact when ``x``'s increments are as
  correlated at lag 1 as at lag 2); the VAR is then fitted with the errors-in-variables correction
  (``sequence_var.fit_var``) and sampled as state plus noise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from appliance.services.synth import sequence_columns as cols

if TYPE_CHECKING:
    import pandas as pd

DAY = 86_400
NS = 1_000_000_000
WIDTHS = (300, 600, 900, 1800, 3600)
"""Candidate profile bin widths, seconds."""
HOLD_BLOCK = 300
HOLD_EVERY = 5
"""Held out to choose the width: every fifth ``HOLD_BLOCK``-second block of the series."""
MIN_GAIN = 0.05
"""Held-out Gaussian log-likelihood per row a profile must gain over a flat line to be kept."""
MIN_ROWS = 200
SCHEDULE_BIN = 60
MAX_SCHEDULE_CHANGES = 24
"""At most this many changes per day of data for a discrete number column to be a schedule."""
TIE_R2 = 0.98
"""A totaliser's increments follow a flow column when their R^2 on it is at least this."""
RATE_WIDTH = 900
"""Seconds per bin of a totaliser's learnt rate by time of day."""


def seconds_of_day(stamps_ns: np.ndarray) -> np.ndarray:
    """Seconds since midnight (UTC, as the index's nanoseconds count them), as floats."""
    return np.asarray(np.mod(stamps_ns, DAY * NS), dtype=np.int64) / NS


def span_days(stamps_ns: np.ndarray) -> float:
    return float(max((int(stamps_ns.max()) - int(stamps_ns.min())) / (DAY * NS), 1.0 / 24)) if len(stamps_ns) else 1.0


def _bin_means(values: np.ndarray, tod: np.ndarray, width: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bins = (tod[rows] // width).astype(np.int64)
    count = DAY // width
    sums = np.bincount(bins, weights=values[rows], minlength=count)
    counted = np.bincount(bins, minlength=count)
    covered = np.flatnonzero(counted > 0)
    return covered, sums[covered] / counted[covered]


def evaluate(spec: dict[str, Any], tod: np.ndarray) -> np.ndarray:
    """A profile at times of day ``tod``: linear between the covered bins' centres, around the clock."""
    width = int(spec["width"])
    values = np.asarray(spec["values"], dtype=float)
    if len(values) == 1:
        return np.full(len(tod), values[0])
    centres = (np.asarray(spec["bins"], dtype=float) + 0.5) * width
    xp = np.concatenate([centres - DAY, centres, centres + DAY])
    return np.asarray(np.interp(tod, xp, np.tile(values, 3)))


def bin_profile(values: np.ndarray, tod: np.ndarray, width: int) -> dict[str, Any]:
    """Bin means at a fixed width, as a profile ``evaluate`` reads."""
    bins, means = _bin_means(values, tod, width, np.arange(len(values)))
    return {"width": width, "bins": bins.tolist(), "values": means.tolist()}


def fit_profile(residual: np.ndarray, tod: np.ndarray, elapsed: np.ndarray) -> dict[str, Any] | None:
    """The time-of-day profile of one latent column (its deviations from the regime means), at the
    width whose held-out blocks it predicts best; None if a flat line does as well."""
    blocks = (elapsed // HOLD_BLOCK).astype(np.int64)
    held = blocks % HOLD_EVERY == HOLD_EVERY // 2
    train, test = np.flatnonzero(~held), np.flatnonzero(held)
    if len(train) < MIN_ROWS or len(test) < MIN_ROWS // 4:
        return None
    flat = float(np.mean((residual[test] - residual[train].mean()) ** 2))
    if flat <= 0:
        return None
    best, best_nll = 0, 0.5 * np.log(flat)
    baseline = best_nll
    for width in WIDTHS:
        bins, means = _bin_means(residual, tod, width, train)
        mse = float(np.mean((residual[test] - evaluate({"width": width, "bins": bins, "values": means},
                                                       tod[test])) ** 2))
        nll = 0.5 * np.log(max(mse, 1e-300))
        if nll < best_nll:
            best, best_nll = width, nll
    if not best or baseline - best_nll < MIN_GAIN:
        return None
    bins, means = _bin_means(residual, tod, best, np.arange(len(residual)))
    return {"width": best, "bins": bins.tolist(), "values": means.tolist(),
            "gain": round(float(baseline - best_nll), 4)}


def noise_variance(values: np.ndarray, steady: np.ndarray) -> float:
    """White-noise variance of a reading from its first differences: ``cov(d_t, d_t-2) - cov(d_t,
    d_t-1)``, over rows where this row and the three before it are ``steady`` (same segment and
    regime, off any plateau). 0 when negative or too few rows."""
    n = len(values)
    if n < 4:
        return 0.0
    diffs = np.zeros(n)
    diffs[1:] = np.diff(values)
    ok = steady.copy()
    ok[0] = False
    good = np.flatnonzero(ok[3:] & ok[2:-1] & ok[1:-2]) + 3
    if len(good) < MIN_ROWS:
        return 0.0
    used = diffs[good]
    centre = float(used.mean())
    d0, d1, d2 = used - centre, diffs[good - 1] - centre, diffs[good - 2] - centre
    estimate = float(np.mean(d0 * d2) - np.mean(d0 * d1))
    return max(estimate, 0.0)


def fit_schedule(codes: np.ndarray, tod: np.ndarray) -> dict[str, Any]:
    """A discrete column as steps at times of day: the commonest level in each ``SCHEDULE_BIN``
    seconds of the day, kept where it changes (uncovered minutes hold the one before)."""
    bins = (tod // SCHEDULE_BIN).astype(np.int64)
    levels = int(codes.max()) + 1
    table = np.zeros((DAY // SCHEDULE_BIN, levels), dtype=np.int64)
    np.add.at(table, (bins, codes), 1)
    covered = np.flatnonzero(table.sum(axis=1) > 0)
    picked = table[covered].argmax(axis=1)
    keep = np.ones(len(picked), dtype=bool)
    keep[1:] = picked[1:] != picked[:-1]
    return {"minutes": covered[keep].tolist(), "codes": picked[keep].tolist()}


def schedule_codes(spec: dict[str, Any], tod: np.ndarray) -> np.ndarray:
    """Level numbers at times of day: the last step at or before each time, around the clock."""
    minutes = np.asarray(spec["minutes"], dtype=np.int64)
    codes = np.asarray(spec["codes"], dtype=np.int64)
    where = np.searchsorted(minutes, (tod // SCHEDULE_BIN).astype(np.int64), side="right") - 1
    return codes[where]  # -1 wraps to the day's last step


def changes_per_day(codes: np.ndarray, seg_starts: np.ndarray, days: float) -> float:
    moved = (codes[1:] != codes[:-1]) & ~seg_starts[1:]
    return float(moved.sum()) / max(days, 1e-9)


# fitting a regime_var model's clock parts ----------------------------------------------------


def schedules(ordered: pd.DataFrame, plans: list[cols.ColumnPlan], seg_starts: np.ndarray, tod: np.ndarray,
               days: float) -> None:
    """Discrete number columns that change at most ``MAX_SCHEDULE_CHANGES`` times a day (an
    operator's setpoints, a night-time boost) get a schedule: they stay in the regime (a setpoint
    moves a level's switching points), and sampling moves the regime to the scheduled value at the
    learnt times, where the chain alone would move them at random times."""
    for plan in plans:
        if plan.role != cols.DISCRETE or plan.indicator_of or plan.dtype != "float":
            continue
        codes = cols.codes(ordered[plan.name], plan)
        if changes_per_day(codes, seg_starts, days) <= MAX_SCHEDULE_CHANGES:
            plan.schedule = fit_schedule(codes, tod)


def ties(ordered: pd.DataFrame, plans: list[cols.ColumnPlan], seg_starts: np.ndarray) -> None:
    """A totaliser whose increments are a straight line of a continuous column (R^2 >=
    ``TIE_R2``: the flow it integrates) is written back as the sum of that line over the
    sampled flow, so the two agree as they do in the plant."""
    import pandas as pd

    inside = ~seg_starts
    candidates = {p.name: pd.Series(cols.numbers(ordered[p.name])).ffill().bfill().to_numpy()
                  for p in plans if p.role == cols.CONTINUOUS and not p.runs}
    for plan in plans:
        if plan.role != cols.COUNTER:
            continue
        steps = cols.increments(cols.numbers(ordered[plan.name]), seg_starts)[inside]
        best, best_r2 = "", TIE_R2
        for name, values in candidates.items():
            x = values[inside]
            if np.std(x) == 0 or np.std(steps) == 0:
                continue
            r2 = float(np.corrcoef(x, steps)[0, 1] ** 2)
            if r2 >= best_r2:
                best, best_r2 = name, r2
        if best:
            slope, intercept = np.polyfit(candidates[best][inside], steps, 1)
            plan.tie, plan.tie_coef = best, [float(intercept), float(slope)]


def rates(ordered: pd.DataFrame, plans: list[cols.ColumnPlan], seg_starts: np.ndarray, tod: np.ndarray,
           elapsed: np.ndarray) -> None:
    """Each counter's mean increment per ``RATE_WIDTH`` seconds of the day: the volume it
    should have added since a run's start (a quarter-hour's volume, not the rows)."""
    inside = ~seg_starts
    for plan in plans:
        if plan.role != cols.COUNTER or not inside.any():
            continue
        steps = cols.increments(cols.numbers(ordered[plan.name]), seg_starts)[inside]
        plan.rate = {"mean": 0.0, "profile": bin_profile(steps, tod[inside], RATE_WIDTH)}


def profiles(scores: np.ndarray, dims: list[str], plans: list[cols.ColumnPlan], regimes: np.ndarray,
              count: int, tod: np.ndarray, elapsed: np.ndarray) -> None:
    """Each continuous or counter latent's time-of-day profile, fitted on its deviations from
    the regime means and taken off the scores in place (the VAR models what is left)."""
    by_name = {p.name: p for p in plans}
    sums = np.zeros((count, scores.shape[1]))
    np.add.at(sums, regimes, scores)
    means = sums / np.maximum(np.bincount(regimes, minlength=count), 1)[:, None]
    for j, name in enumerate(dims):
        plan = by_name[name]
        if plan.role not in (cols.CONTINUOUS, cols.COUNTER) or plan.tie:
            continue
        spec = fit_profile(scores[:, j] - means[regimes, j], tod, elapsed)
        if spec is not None:
            plan.profile = spec
            scores[:, j] -= evaluate(spec, tod)


def noise_variances(ordered: pd.DataFrame, scores: np.ndarray, dims: list[str], plans: list[cols.ColumnPlan],
           regimes: np.ndarray, seg_starts: np.ndarray) -> np.ndarray:
    """Each continuous reading's white-noise variance in latent units (``sequence_clock``),
    from rows that stay in their regime and off the tag's plateaus; 0 for held (analyser) tags,
    counters and discrete latents."""
    by_name = {p.name: p for p in plans}
    out = np.zeros(len(dims))
    same = np.zeros(len(regimes), dtype=bool)
    same[1:] = regimes[1:] == regimes[:-1]
    same &= ~seg_starts
    for j, name in enumerate(dims):
        plan = by_name[name]
        if plan.role != cols.CONTINUOUS or plan.runs:
            continue
        steady = same
        if plan.atoms:
            steady = same & (cols.atom_codes(cols.numbers(ordered[name]), plan.atoms) == len(plan.atoms))
        plan.noise = noise_variance(scores[:, j], steady)
        out[j] = plan.noise
    return out
