"""Sequential synthesis by a regime-switching vector autoregression (synthesizer ``regime_var``).

Why not only PAR: SDV's PARSynthesizer (``sequential``) trains an LSTM full-batch at ~10 s a step
on an hour of a 52-column plant table on two cores and samples row by row in Python; at the
effort that fits a job it has not learnt a level's dynamics (lag-1 0.01 against 0.9998). Plant
telemetry is mostly slow, linear-ish dynamics switched by a few discrete states (pumps on/off,
alarms, modes, attack labels), which a much smaller model captures in seconds:

1. Each column gets a role (``sequence_columns``): continuous tags are standardised, totalisers
   become increments, discrete columns (bools, modes, labels) and the plateaus of continuous
   tags (a valve shut or open) form the *regime*, the combination of their values at each row.
2. The latent values follow a VAR(p):
   ``z_t = c[s_t] + J[s_t-1, s_t] + A_1 z_t-1 + ... + A_p z_t-p + L[s_t] e_t``, with an intercept
   and a residual covariance per regime ``s_t`` (pooled for rare regimes) and a jump ``J`` for each
   regime change seen (a spoofed reading's offset, a pump starting), fitted by ridge least squares;
   ``p`` (1-4) is the one with the best held-out Gaussian likelihood on the last
   ``VALIDATION_SHARE`` of every sequence. A companion-matrix check shrinks the lags if the fit
   is explosive, so a day-long run cannot wander off.
3. The regime moves as a Markov chain whose exit probabilities depend on the previous latent
   values (a softmax per regime on at most three of them, chosen by BIC): a pump stops when its
   tank's level is high, an alarm clears when the level falls back. Destinations seen fewer than
   three times (an attack that began once) keep their observed share. Because regimes are
   combinations seen in training, label rules hold by construction (the rules step still repairs
   every chunk).
4. Sampling runs the chain forward from a state drawn around the regime's mean, with noise from
   ``numpy.random.default_rng([seed, sequence, block])`` in fixed blocks of ``BLOCK`` rows: the
   rows do not depend on the chunk size, and the model file is JSON (floats written exactly), so
   one model and one seed give byte-identical rows in any process. The sequence index is
   regenerated from the learnt step (median step; same resolution, strictly increasing).

5. With a datetime index, the day's clock (``sequence_clock``): a time-of-day profile per
   continuous latent where held-out blocks show one (the VAR models the deviations), setpoint
   schedules imposed on the regime at their learnt times, totalisers summed from the flow they
   integrate and pulled towards their learnt volume by time of day (``PIN_ROWS``).
6. Each continuous reading's white-noise variance is estimated and the VAR fitted for the state
   under it (errors-in-variables); sampling runs the state and adds the noise on output, so a
   synthetic minute does not wander further than a real one.

A single series is one sequence (holdout windows cut out of it leave gaps, and the lags never
cross a gap). With ``sequence_key`` the sequences share one model; each synthetic sequence takes
its length, start time, context values and totaliser start values from a training sequence drawn
at random (those values are per-sequence attributes, resampled like categories).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from appliance.services.synth import sequence_clock as clock
from appliance.services.synth import sequence_columns as cols
from appliance.services.synth.interface import (
    REGIME_VAR,
    CancelCallback,
    FitSummary,
    ProgressCallback,
    SynthesisError,
    Synthesizer,
    TrainingCanceled,
)
from appliance.services.synth.metadata import TableMetadata
from appliance.services.synth.sequence_var import (
    fit_transitions,
    fit_var,
    next_regime,
    pick_lags,
    position_in_segment,
)

if TYPE_CHECKING:
    import pandas as pd

SYNTHESIZER = REGIME_VAR
ENGINE = "sealforge_var"
FORMAT = "sealforge-regime-var/2"
FORMATS = ("sealforge-regime-var/1", FORMAT)
"""Model files this version reads: /1 (before the clock and the noise) samples as it did."""
MAX_REGIMES = 64
MIN_ROWS = 20
BLOCK = 4096
GAP_FACTOR = 1.5
MAX_STARTS = 10_000
JITTER = 1e-6
PIN_ROWS = 300.0
"""With the clock, a totaliser's gap to its learnt daily volume closes at 1/``PIN_ROWS`` a row:
the sampled flows need not add up to the real day's volume (a linear model conserves no mass),
and a total drifting hundreds of m3 off would break the order between totalisers."""


def _order(data: pd.DataFrame, sequence: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, float | None]:
    """Rows ordered by key and index; where sequences start (key changes) and where contiguous
    segments start (a sequence start, or a gap over ``GAP_FACTOR`` steps: a holdout window); the
    median step of the index."""
    key, index = sequence.get("sequence_key"), sequence.get("sequence_index")
    by = [c for c in (key, index) if c]
    ordered = data.sort_values(by, kind="stable").reset_index(drop=True) if by else data.reset_index(drop=True)
    n = len(ordered)
    sequences = np.zeros(n, dtype=bool)
    if n:
        sequences[0] = True
    if key:
        keys = ordered[key].astype(object).map(repr).to_numpy()
        sequences[1:] |= keys[1:] != keys[:-1]
    segments = sequences.copy()
    step: float | None = None
    if index:
        if ordered[index].isna().any():
            raise SynthesisError("sequence_index", f"column {index!r} has missing values")
        stamps = index_numbers(ordered[index])
        diffs = np.diff(stamps)
        within = ~sequences[1:]
        positive = diffs[within & (diffs > 0)]
        if len(positive):
            middle = np.median(positive)
            step = int(np.rint(middle)) if stamps.dtype.kind == "i" else float(middle)
            segments[1:] |= within & (diffs > GAP_FACTOR * step)
    return ordered, sequences, segments, step


def index_numbers(series: pd.Series) -> np.ndarray:
    """The sequence index as numbers: int64 ns for datetimes and int64 for integers (exact: a float
    cannot hold today's time in ns to the second), float otherwise."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        return np.asarray(series.astype("datetime64[ns]").to_numpy().astype("int64"))
    if pd.api.types.is_integer_dtype(series):
        return np.asarray(series.to_numpy(dtype="int64"))
    return np.asarray(pd.to_numeric(series, errors="coerce").to_numpy(dtype=float))


def _choose_regime_columns(code_matrix: np.ndarray, persistence: np.ndarray, first: list[int]) -> list[int]:
    """Discrete columns that make up the regime: ``first`` (the schedules: a setpoint moves the
    levels' thresholds, so it stays in the regime), then the most persistent, while their value
    combinations stay at most ``MAX_REGIMES``; the others become thresholded latent scores."""
    chosen: list[int] = []
    for j in [*first, *[k for k in np.argsort(-persistence, kind="stable").tolist() if k not in first]]:
        trial = [*chosen, j]
        if len(np.unique(code_matrix[:, trial], axis=0)) <= MAX_REGIMES:
            chosen = trial
    return sorted(chosen)


def _chol(cov: np.ndarray) -> np.ndarray:
    d = cov.shape[0]
    return np.linalg.cholesky((cov + cov.T) / 2 + JITTER * np.eye(d))


class RegimeVARSynthesizer(Synthesizer):
    engine = ENGINE

    def __init__(self, synthesizer: str = SYNTHESIZER, device: str = "cpu", sequence: dict[str, Any] | None = None,
                 state: dict[str, Any] | None = None) -> None:
        if synthesizer != SYNTHESIZER:
            raise SynthesisError("synthesizer", f"this engine models {SYNTHESIZER} only")
        self.synthesizer = SYNTHESIZER
        self.device = "cpu"
        self.sequence = dict(sequence or {})
        self.state = state
        self.timing: dict[str, Any] = {}
        self._arrays: dict[str, Any] = {}
        if state is not None:
            self._load_arrays()

    # fitting -------------------------------------------------------------------------------------

    def fit(
        self,
        data: pd.DataFrame,
        metadata: TableMetadata,
        epochs: int | None = None,
        progress_cb: ProgressCallback | None = None,
        cancel_cb: CancelCallback | None = None,
    ) -> FitSummary:
        """Fit the column roles, the VAR and the regime transitions; cancel is honoured between stages."""
        from appliance.services.synth.sequential import check_config

        started = time.perf_counter()
        if epochs is not None:
            raise SynthesisError("epochs", f"{SYNTHESIZER} is fitted in closed form; it has no epochs")
        check_config(self.sequence, list(data.columns))
        if len(data) < MIN_ROWS:
            raise SynthesisError("inputs.0", f"{SYNTHESIZER} needs at least {MIN_ROWS} rows, got {len(data)}")
        key, index = self.sequence.get("sequence_key"), self.sequence.get("sequence_index")
        context = list(self.sequence.get("context_columns") or [])
        ordered, seq_starts, seg_starts, step = _order(data, self.sequence)
        modelled = [c for c in ordered.columns if c not in (key, index, *context)]
        plans = cols.plan_columns(ordered, modelled, seg_starts, metadata.sdtypes())
        stamps = index_numbers(ordered[index]) if index and cols.dtype_of(ordered[index]) == "datetime" else None
        tod = clock.seconds_of_day(stamps) if stamps is not None else None
        if tod is not None and stamps is not None:
            clock.schedules(ordered, plans, seg_starts, tod, clock.span_days(stamps))
        clock.ties(ordered, plans, seg_starts)
        _stop(cancel_cb)

        discrete = [p for p in plans if p.role == cols.DISCRETE]
        code_matrix = np.column_stack([self._codes(ordered, p, plans) for p in discrete]) if discrete \
            else np.zeros((len(ordered), 0), dtype=np.int64)
        same = code_matrix[1:] == code_matrix[:-1]
        persistence = same[~seg_starts[1:]].mean(axis=0) if len(same) and (~seg_starts[1:]).any() \
            else np.zeros(len(discrete))
        scheduled = [j for j, p in enumerate(discrete) if p.schedule]
        in_regime = _choose_regime_columns(code_matrix, persistence, scheduled) if discrete else []
        for j, plan in enumerate(discrete):
            plan.latent = j not in in_regime
        if in_regime:
            table, regimes = np.unique(code_matrix[:, in_regime], axis=0, return_inverse=True)
            regimes = regimes.reshape(-1).astype(np.int64)
        else:
            table, regimes = np.zeros((1, 0), dtype=np.int64), np.zeros(len(ordered), dtype=np.int64)
        scores, dims = self._scores(ordered, plans, code_matrix, discrete, seg_starts)
        if tod is not None and stamps is not None:
            clock.rates(ordered, plans, seg_starts, tod, (stamps - stamps[0]) / clock.NS)
            clock.profiles(scores, dims, plans, regimes, table.shape[0], tod, (stamps - stamps[0]) / clock.NS)
        noise = clock.noise_variances(ordered, scores, dims, plans, regimes, seg_starts)
        position = position_in_segment(seg_starts)
        prepared = time.perf_counter()
        _stop(cancel_cb)

        count = table.shape[0]
        lags, curve = pick_lags(scores, regimes, count, position, seg_starts)
        _stop(cancel_cb)
        var = fit_var(scores, regimes, count, position, lags, noise)
        _stop(cancel_cb)
        transitions = fit_transitions(scores, regimes, count, seg_starts)
        fitted = time.perf_counter()

        within_cov = np.cov((scores - var["means"][regimes]).T).reshape(len(dims), len(dims)) if len(dims) \
            else np.zeros((0, 0))
        self.state = {
            "format": FORMAT,
            "sequence": self.sequence,
            "columns": [str(c) for c in data.columns],
            "plans": [p.as_dict() for p in plans],
            "regime_columns": [discrete[j].name for j in in_regime],
            "regime_table": table.tolist(),
            "dims": dims,
            "lags": lags,
            "step": step,
            "index": None if index is None else {"name": index, "dtype": cols.dtype_of(ordered[index])},
            "context_dtypes": {c: cols.dtype_of(ordered[c]) for c in context},
            "starts": self._starts(ordered, seq_starts, regimes, plans, context),
            "intercepts": var["intercepts"].tolist(),
            "coefficients": var["coefficients"].tolist(),
            "chol": [c.tolist() for c in var["chol"]],
            "jumps": var["jumps"],
            "means": var["means"].tolist(),
            "init_chol": _chol(within_cov).tolist() if len(dims) else [],
            "transitions": transitions,
            "shrunk": var["shrunk"],
            "clock": tod is not None,
        }
        self._load_arrays()
        finished = time.perf_counter()
        self.timing = {
            "preparation_seconds": round(prepared - started, 3),
            "fit_seconds": round(fitted - prepared, 3),
            "lags": lags,
            "regimes": count,
            "latent_columns": len(dims),
            "sequences": int(seq_starts.sum()),
            "profiles": sum(bool(p.profile) for p in plans),
            "schedules": sum(bool(p.schedule) for p in plans),
            "noisy_columns": int((noise > 0).sum()),
            "tied_counters": sum(bool(p.tie) for p in plans),
        }
        return FitSummary(synthesizer=SYNTHESIZER, device="cpu", rows=len(data), epochs=None,
                          seconds=round(finished - started, 3), loss=curve)

    @staticmethod
    def _codes(ordered: pd.DataFrame, plan: cols.ColumnPlan, plans: list[cols.ColumnPlan]) -> np.ndarray:
        if not plan.indicator_of:
            return cols.codes(ordered[plan.name], plan)
        parent = next(p for p in plans if p.name == plan.indicator_of)
        return cols.atom_codes(cols.numbers(ordered[parent.name]), parent.atoms)

    def _scores(self, ordered: pd.DataFrame, plans: list[cols.ColumnPlan], code_matrix: np.ndarray,
                discrete: list[cols.ColumnPlan], seg_starts: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """The latent matrix (rows x dims) and the column each dim comes from."""
        import pandas as pd

        columns, dims = [], []
        for plan in plans:
            if plan.role == cols.CONTINUOUS:
                values = pd.Series(cols.numbers(ordered[plan.name])).ffill().bfill().to_numpy()
                columns.append(cols.encode(values, plan))
            elif plan.role == cols.COUNTER:
                steps = cols.increments(cols.numbers(ordered[plan.name]), seg_starts)
                score = np.full(len(steps), np.nan)
                score[~seg_starts] = cols.encode(steps[~seg_starts], plan)
                columns.append(pd.Series(score).bfill().fillna(0.0).to_numpy())
            elif plan.role == cols.DISCRETE and plan.latent:
                columns.append(cols.latent_scores(code_matrix[:, discrete.index(plan)], plan))
            else:
                continue
            dims.append(plan.name)
        matrix = np.column_stack(columns) if columns else np.zeros((len(ordered), 0))
        return matrix, dims

    def _starts(self, ordered: pd.DataFrame, seq_starts: np.ndarray, regimes: np.ndarray,
                plans: list[cols.ColumnPlan], context: list[str]) -> list[dict[str, Any]]:
        """Per training sequence: first index value, length, first regime, context and totaliser
        start values (at most ``MAX_STARTS``, evenly spread)."""
        index = self.sequence.get("sequence_index")
        first = np.flatnonzero(seq_starts)
        lengths = np.diff(np.append(first, len(ordered)))
        picked = np.unique(np.linspace(0, len(first) - 1, min(len(first), MAX_STARTS)).astype(int))
        counters = [p.name for p in plans if p.role == cols.COUNTER]
        out = []
        for i in picked.tolist():
            row = int(first[i])
            out.append({
                "length": int(lengths[i]),
                "regime": int(regimes[row]),
                "start": None if index is None else index_numbers(ordered[index].iloc[row:row + 1]).tolist()[0],
                "context": {c: cols.cells(ordered[c].iloc[row:row + 1])[0] for c in context},
                "counters": {c: float(cols.numbers(ordered[c].iloc[row:row + 1])[0]) for c in counters},
            })
        return out

    def _load_arrays(self) -> None:
        state = self.state or {}
        self.sequence = dict(state.get("sequence") or self.sequence)
        self._arrays = {
            "plans": [cols.ColumnPlan(**p) for p in state["plans"]],
            "table": np.asarray(state["regime_table"], dtype=np.int64),
            "C": np.asarray(state["intercepts"], dtype=float),
            "A": np.asarray(state["coefficients"], dtype=float),
            "L": [np.asarray(c, dtype=float) for c in state["chol"]],
            "means": np.asarray(state["means"], dtype=float),
            "init": np.asarray(state["init_chol"], dtype=float),
            "transitions": [_transition_arrays(t) for t in state["transitions"]],
            "jumps": {(int(a), int(b)): np.asarray(v, dtype=float) for a, b, v in state["jumps"]},
        }
        plans = {p.name: p for p in self._arrays["plans"]}
        self._arrays["noise_sd"] = np.sqrt(np.asarray([plans[n].noise for n in state["dims"]], dtype=float))

    # sampling ------------------------------------------------------------------------------------

    def sample_chunks(
        self, rows: int, seed: int, chunk_rows: int, conditions: dict[str, Any] | None = None
    ) -> Iterator[pd.DataFrame]:
        """Sequences run forward block by block and cut into chunks of ``chunk_rows``; a single
        series is one sequence of ``rows`` rows, a keyed table gets fresh keys 0, 1, 2, ..."""
        import pandas as pd

        if self.state is None:
            raise SynthesisError("model_id", "the model is not fitted")
        if conditions:
            raise SynthesisError("conditions", f"{SYNTHESIZER} samples whole sequences, not under conditions")
        buffered: list[pd.DataFrame] = []
        held = 0
        for piece in self._pieces(rows, seed):
            buffered.append(piece)
            held += len(piece)
            while held >= chunk_rows:
                joined = pd.concat(buffered, ignore_index=True)
                yield joined.iloc[:chunk_rows].reset_index(drop=True)
                rest = joined.iloc[chunk_rows:].reset_index(drop=True)
                buffered, held = ([rest] if len(rest) else []), len(rest)
        if held:
            yield pd.concat(buffered, ignore_index=True)

    def _pieces(self, rows: int, seed: int) -> Iterator[pd.DataFrame]:
        starts = self.state["starts"] if self.state else []
        if not self.sequence.get("sequence_key"):
            yield from self._run(starts[0], rows, seed, 0)
            return
        pick = np.random.default_rng([int(seed), 0, 2**32 - 1])
        done, number = 0, 0
        while done < rows:
            start = starts[int(pick.integers(len(starts)))]
            length = min(int(start["length"]), rows - done)
            yield from self._run(start, length, seed, number)
            done += length
            number += 1

    def _run(self, start: dict[str, Any], rows: int, seed: int, number: int) -> Iterator[pd.DataFrame]:
        """One sequence of ``rows`` rows, block by block (the state carries across blocks)."""
        a = self._arrays
        d = a["C"].shape[1]
        p = int(self.state["lags"]) if self.state else 1
        regime = int(start["regime"])
        first = np.random.default_rng([int(seed), int(number), 2**32 - 2])
        z0 = a["means"][regime] + (a["init"] @ first.standard_normal(d) if d else 0.0)
        lagged = np.tile(z0, p)
        totals = dict(start["counters"])
        held: dict[str, dict[str, Any]] = {}
        forced = self._forced_regimes()
        done, block = 0, 0
        while done < rows:
            count = min(BLOCK, rows - done)
            wanted = self._scheduled_codes(start, done, count, forced)
            rng = np.random.default_rng([int(seed), int(number), block])
            noise = rng.standard_normal((count, d))
            draws = rng.random(count)
            measured = rng.standard_normal((count, d)) * a["noise_sd"] if np.any(a["noise_sd"] > 0) else None
            z = np.empty((count, d))
            s = np.empty(count, dtype=np.int64)
            for j in range(count):
                before = regime
                if done + j > 0:
                    regime = next_regime(a["transitions"][regime], lagged[:d], draws[j], regime)
                if forced is not None and wanted is not None \
                        and np.any(a["table"][regime, forced["columns"]] != wanted[j]):
                    key = a["table"][regime].copy()
                    key[forced["columns"]] = wanted[j]
                    regime = forced["index"].get(tuple(key.tolist()), regime)
                row = a["C"][regime] + a["A"] @ lagged + a["L"][regime] @ noise[j]
                if regime != before:
                    row = row + a["jumps"].get((before, regime), 0.0)
                z[j], s[j] = row, regime
                lagged = np.concatenate([row, lagged[:-d]]) if p > 1 else row
            yield self._decode(z, s, start, number, done, totals, held, rng, measured)
            done += count
            block += 1

    def _forced_regimes(self) -> dict[str, Any] | None:
        """The regime columns that follow a schedule, and each regime by its values (a scheduled
        step moves the chain to the regime with the new setpoint and the rest unchanged)."""
        state = self.state or {}
        names = state["regime_columns"]
        specs = [p for p in self._arrays["plans"] if p.schedule and p.name in names]
        if not specs or not state.get("clock"):
            return None
        return {"columns": np.asarray([names.index(p.name) for p in specs], dtype=np.int64),
                "specs": [p.schedule for p in specs],
                "index": {tuple(row): r for r, row in enumerate(self._arrays["table"].tolist())}}

    def _scheduled_codes(self, start: dict[str, Any], offset: int, count: int,
                         forced: dict[str, Any] | None) -> np.ndarray | None:
        if forced is None:
            return None
        tod = self._times_of_day(start, offset, count)
        return np.column_stack([clock.schedule_codes(spec, tod) for spec in forced["specs"]])

    def _times_of_day(self, start: dict[str, Any], offset: int, count: int) -> np.ndarray:
        step = int((self.state or {}).get("step") or 1)
        return clock.seconds_of_day(int(start["start"]) + step * (offset + np.arange(count, dtype=np.int64)))

    def _decode(self, z: np.ndarray, s: np.ndarray, start: dict[str, Any], number: int, offset: int,
                totals: dict[str, float], held: dict[str, dict[str, Any]], rng: np.random.Generator,
                measured: np.ndarray | None = None) -> pd.DataFrame:
        """A block of states and regimes as rows in the training columns' dtypes: the time-of-day
        profiles added to the states, then the readings' noise (``measured``)."""
        import pandas as pd

        state = self.state or {}
        count = len(s)
        dims, regime_columns = state["dims"], state["regime_columns"]
        plans = self._arrays["plans"]
        tod = None
        if state.get("clock"):
            tod = self._times_of_day(start, offset, count)
        clean = z.copy()
        for plan in plans:
            if plan.profile and tod is not None:
                clean[:, dims.index(plan.name)] += clock.evaluate(plan.profile, tod)
        read = clean if measured is None else clean + measured
        out: dict[str, Any] = {}
        codes: dict[str, np.ndarray] = {}
        for plan in plans:
            if plan.role != cols.DISCRETE:
                continue
            if plan.latent and plan.schedule and tod is not None:
                codes[plan.name] = clock.schedule_codes(plan.schedule, tod)
            elif plan.latent:
                codes[plan.name] = cols.latent_codes(z[:, dims.index(plan.name)], plan)
            else:
                codes[plan.name] = self._arrays["table"][s, regime_columns.index(plan.name)]
        flows: dict[str, np.ndarray] = {}
        for plan in plans:
            if plan.role == cols.CONTINUOUS:
                flows[plan.name] = self._on_atoms(cols.decode(clean[:, dims.index(plan.name)], plan), plan, codes)
        for plan in plans:
            if plan.role == cols.CONSTANT:
                out[plan.name] = cols.write_back(None, plan, count)
                continue
            if plan.role == cols.DISCRETE:
                if not plan.indicator_of:
                    out[plan.name] = cols.write_back(cols.level_values(codes[plan.name], plan), plan, count)
                continue
            if plan.role == cols.COUNTER:
                if plan.tie:
                    steps = np.maximum(plan.tie_coef[0] + plan.tie_coef[1] * flows[plan.tie], 0.0)
                else:
                    steps = np.maximum(cols.decode(read[:, dims.index(plan.name)], plan), 0.0)
                if offset == 0:
                    steps[0] = 0.0
                if plan.rate and tod is not None:
                    values = _pinned(steps, plan.rate, tod, totals, plan.name, offset == 0)
                else:
                    values = totals[plan.name] + np.cumsum(steps)
                totals[plan.name] = float(values[-1])
            else:
                values = cols.decode(read[:, dims.index(plan.name)], plan)
                if plan.runs:
                    values = cols.hold(values, plan, held.setdefault(plan.name, {}), rng)
                values = self._on_atoms(values, plan, codes)
                if plan.null_share > 0:
                    values = np.where(rng.random(count) < plan.null_share, np.nan, values)
            out[plan.name] = cols.write_back(values, plan, count)
        frame = pd.DataFrame(out)
        key, index = self.sequence.get("sequence_key"), state.get("index")
        if key:
            frame[key] = np.full(count, number, dtype=np.int64)
        for name, value in start["context"].items():
            kind = state["context_dtypes"].get(name)
            frame[name] = pd.to_datetime(pd.Series([value] * count, dtype=float), unit="ns") if kind == "datetime" \
                else [value] * count
        if index is not None:
            frame[index["name"]] = _index_values(start["start"], state["step"], offset, count, index["dtype"])
        return frame[[c for c in state["columns"] if c in frame.columns]]

    @staticmethod
    def _on_atoms(values: np.ndarray, plan: cols.ColumnPlan, codes: dict[str, np.ndarray]) -> np.ndarray:
        """A tag's values, exactly on its plateau where the regime puts it on one."""
        if not plan.atoms:
            return values
        on = codes[plan.name + cols.ATOM_SUFFIX]
        return np.where(on < len(plan.atoms), np.asarray([*plan.atoms, 0.0])[on], values)

    # files ---------------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """The model as canonical JSON: exact floats, no code, the same bytes for the same fit."""
        Path(path).write_text(json.dumps(self.state, sort_keys=True, separators=(",", ":"), allow_nan=False))

    @classmethod
    def load(cls, path: Path, device: str | None = None) -> RegimeVARSynthesizer:
        try:
            state = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise SynthesisError("model_id", f"not a {SYNTHESIZER} model file ({exc})") from exc
        if not isinstance(state, dict) or state.get("format") not in FORMATS:
            raise SynthesisError("model_id", f"not a {SYNTHESIZER} model file")
        return cls(SYNTHESIZER, "cpu", state.get("sequence"), state)


def _stop(cancel_cb: CancelCallback | None) -> None:
    if cancel_cb is not None and cancel_cb():
        raise TrainingCanceled()


def _pinned(steps: np.ndarray, rate: dict[str, Any], tod: np.ndarray, totals: dict[str, float], name: str,
            first: bool) -> np.ndarray:
    """A totaliser's values from its sampled increments, each nudged by 1/``PIN_ROWS`` of the gap
    to the learnt volume since the start (never below 0: it stays monotone; a step that is 0, a
    stopped flow, stays 0)."""
    expected = rate["mean"] + (clock.evaluate(rate["profile"], tod) if rate["profile"] else 0.0)
    expected = np.maximum(np.broadcast_to(expected, steps.shape), 0.0)
    key = name + "\x00target"
    total, target = totals[name], totals.get(key, totals[name])
    out = np.empty(len(steps))
    gain = 1.0 / PIN_ROWS
    for i, (step, rate_i) in enumerate(zip(steps.tolist(), expected.tolist(), strict=True)):
        if not (first and i == 0):
            target += rate_i
            if step > 0:  # a stopped flow's totaliser stands still
                step = max(step + (target - total) * gain, 0.0)
        total += step
        out[i] = total
    totals[key] = target
    return out


def _transition_arrays(spec: dict[str, Any]) -> dict[str, Any]:
    out = dict(spec)
    out["to"] = np.asarray(spec["to"], dtype=np.int64)
    if spec["kind"] == "softmax":
        out["weights"] = np.asarray(spec["weights"], dtype=float).reshape(len(spec["to"]), len(spec["features"]))
        out["bias"] = np.asarray(spec["bias"], dtype=float)
        out["features"] = np.asarray(spec["features"], dtype=np.int64)
        out["rare_cumulative"] = np.cumsum(np.asarray(spec["rare_probs"], dtype=float))
    else:
        out["cumulative"] = np.cumsum(np.asarray(spec["probs"], dtype=float))
    return out


def _index_values(start: float, step: float | None, offset: int, count: int, dtype: str) -> Any:
    """The sequence index from its start and the learnt step, in integers when it is one."""
    if dtype in ("datetime", "int"):
        stamps = int(start) + int(step or 1) * (offset + np.arange(count, dtype=np.int64))
        return stamps.astype("datetime64[ns]") if dtype == "datetime" else stamps
    return float(start) + float(step or 1.0) * (offset + np.arange(count))
