"""A model per class of one column (``class_column``): class-conditional structure kept, sampling
by class exact and cheap.

Why: one GaussianCopula over a table holds each column's link to the class only as a correlation
of normal scores, so a classifier trained on its rows (TSTR) loses 20-35 F1 points on small real
tables against one trained on real rows. Fitting one model on each class's rows keeps every
column's distribution and dependence *within* the class; sampling draws each class's share of rows
from its own model (the real proportions unless ``class_proportions`` says otherwise), and a
condition on the class column picks that class's model, so no rejection sampling is needed.
Classes with fewer than ``MIN_CLASS_ROWS`` rows are sampled from one model of the whole table
under a condition on the class.

GaussianCopula (the default): the data preparation is fitted once, on the whole table (SDV's data
processor: rdt encoders, dates, nulls, rounding, ranges), and each class gets a copula on its
transformed rows with empirical marginals (``marginals.empirical_copula``: a sort per column and
one correlation matrix, no likelihood fit). Sampling swaps the class's copula into the one SDV
synthesizer, so reverse transforms, conditions and rounding stay SDV's. Why: K full SDV fits, each
with its own rdt fit and marginal choice, cost 3-6x one raw SDV fit on small tables, and
parametric marginals fitted on tens of rows blurred the thresholds that separate the classes
(adult closed 0.28 of the TSTR gap; empirical marginals: 0.96, bench/synth.py ``--only tstr``).
The neural synthesizers keep one full SDV model per class.

The file is a cloudpickle of ``{"class_column", "proportions", "values", "shared", "copulas",
"pooled_copula"}`` (GaussianCopula) or ``{..., "models", "pooled"}`` (neural, and GaussianCopula
files written before the shared preparation, still loaded); the appliance only loads files its own
``train`` jobs wrote (BLAKE3-addressed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from appliance.services.synth import marginals, seeding
from appliance.services.synth.interface import (
    DEFAULT_EPOCHS,
    NEURAL,
    CancelCallback,
    FitSummary,
    ProgressCallback,
    SynthesisError,
    Synthesizer,
    TrainingCanceled,
)
from appliance.services.synth.metadata import TABLE
from appliance.services.synth.offline import import_sdv
from appliance.services.synth.sdv_engine import SDVSynthesizer

if TYPE_CHECKING:
    import pandas as pd

    from appliance.services.synth.metadata import TableMetadata

ENGINE = "sdv_stratified"
MIN_CLASS_ROWS = 10
MAX_CLASSES = 50
NULL = "\0null"
COPULA = "gaussian_copula"
STEPPED_SDTYPES = ("categorical", "boolean")


def _key(value: Any) -> str:
    try:
        import pandas as pd

        if value is None or pd.isna(value):
            return NULL
    except (TypeError, ValueError):
        pass
    if isinstance(value, float) and value == int(value):
        value = int(value)
    return str(value.item() if isinstance(value, np.generic) else value)


def allocate(rows: int, shares: dict[str, float]) -> dict[str, int]:
    """``rows`` split by ``shares`` with largest remainders: the counts sum to ``rows`` exactly."""
    total = sum(shares.values())
    if total <= 0:
        raise SynthesisError("class_proportions", "give at least one class a share above 0")
    exact = {k: rows * v / total for k, v in shares.items()}
    counts = {k: int(np.floor(v)) for k, v in exact.items()}
    left = rows - sum(counts.values())
    for k in sorted(exact, key=lambda k: (counts[k] - exact[k], k))[:left]:
        counts[k] += 1
    return counts


class StratifiedSynthesizer(Synthesizer):
    engine = ENGINE

    def __init__(self, synthesizer: str, device: str = "cpu", class_column: str | None = None) -> None:
        self.synthesizer = synthesizer
        self.device = device
        self.class_column = class_column
        self.proportions: dict[str, float] = {}
        self.values: dict[str, Any] = {}
        self.models: dict[str, SDVSynthesizer] = {}
        self.pooled: SDVSynthesizer | None = None
        self.shared: SDVSynthesizer | None = None
        """gaussian_copula: the one SDV synthesizer whose data processor every class shares."""
        self.copulas: dict[str, Any] = {}
        self.pooled_copula: Any = None
        self.asked: dict[str, float] | None = None
        """Class shares a synthesize job asked for (``class_proportions``); None: the real ones."""

    def fit(
        self,
        data: pd.DataFrame,
        metadata: TableMetadata,
        epochs: int | None = None,
        progress_cb: ProgressCallback | None = None,
        cancel_cb: CancelCallback | None = None,
    ) -> FitSummary:
        """One model per class with at least ``MIN_CLASS_ROWS`` rows, plus a whole-table model when
        some class has fewer (GaussianCopula: copulas over one shared data preparation)."""
        started = time.perf_counter()
        column = self.class_column
        if column is None or column not in data.columns:
            raise SynthesisError("class_column", f"unknown column {column!r}")
        keys = data[column].map(_key)
        counts = keys.value_counts()
        if len(counts) > MAX_CLASSES:
            raise SynthesisError("class_column", f"{len(counts)} classes; a class column has at most {MAX_CLASSES}")
        self.proportions = {str(k): float(v) / len(data) for k, v in counts.sort_index().items()}
        self.values = {k: data.loc[keys == k, column].iloc[0] for k in self.proportions}
        self.values = {k: (None if k == NULL else v) for k, v in self.values.items()}
        loss: list[dict[str, float]] = []
        if self.synthesizer == COPULA:
            self._fit_copulas(data, metadata, keys, counts, cancel_cb)
        else:
            for key in self.proportions:
                if counts[key] < MIN_CLASS_ROWS:
                    continue
                if cancel_cb is not None and cancel_cb():
                    raise TrainingCanceled()
                model = SDVSynthesizer(self.synthesizer, self.device)
                summary = model.fit(data[keys == key].reset_index(drop=True), metadata, epochs, None, cancel_cb)
                loss.extend(summary.loss)
                self.models[key] = model
            if len(self.models) < len(self.proportions):
                self.pooled = SDVSynthesizer(self.synthesizer, self.device)
                self.pooled.fit(data, metadata, epochs, None, cancel_cb)
        return FitSummary(
            synthesizer=self.synthesizer,
            device=self.device,
            rows=len(data),
            epochs=(epochs or DEFAULT_EPOCHS) if self.synthesizer in NEURAL else None,
            seconds=round(time.perf_counter() - started, 3),
            loss=loss,
        )

    def sample_chunks(
        self, rows: int, seed: int, chunk_rows: int, conditions: dict[str, Any] | None = None
    ) -> Iterator[pd.DataFrame]:
        """Each chunk holds every class's share of its rows (cumulative largest remainders, so the
        whole run matches the proportions), shuffled by a seeded permutation; with the class column
        in ``conditions``, that class's rows only."""
        import pandas as pd

        shares = self.class_shares(conditions, self.asked)
        states = seeding.seed_states(seed, len(shares) + 2)
        models = {key: self._model_for(key) for key in shares}
        if self.shared is not None:
            seeding.seed_sampler(self.shared.model, states[len(shares) + 1])
        for index, key in enumerate(shares):
            self._seed(key, models[key], states[index])
        rng = np.random.default_rng(states[len(shares)])
        done, given = 0, dict.fromkeys(shares, 0)
        while done < rows:
            count = min(chunk_rows, rows - done)
            done += count
            target = allocate(done, shares)
            parts = []
            for key in shares:
                want = target[key] - given[key]
                if want <= 0:
                    continue
                given[key] += want
                parts.append(self._sample_from(key, models[key], want, conditions))
            chunk = pd.concat(parts, ignore_index=True)
            yield chunk.iloc[rng.permutation(len(chunk))].reset_index(drop=True)

    def _fit_copulas(
        self, data: pd.DataFrame, metadata: TableMetadata, keys: pd.Series, counts: pd.Series,
        cancel_cb: CancelCallback | None,
    ) -> None:
        """The data preparation (SDV's data processor: rdt encoders, dates, nulls, rounding) fitted
        once on the whole table; then one empirical copula per class on the class's transformed
        rows, and one over all rows for the classes too small for their own."""
        import_sdv()
        from sdv.single_table import GaussianCopulaSynthesizer

        if cancel_cb is not None and cancel_cb():
            raise TrainingCanceled()
        synth = GaussianCopulaSynthesizer(metadata.to_sdv(), default_distribution="uniform")
        processed = synth.preprocess({TABLE: data})[TABLE]
        synth.fit_processed_data({TABLE: processed})  # a closed-form uniform copula, replaced below
        sdtypes = metadata.sdtypes()
        stepped = {str(c) for c in processed.columns if sdtypes.get(str(c)) in STEPPED_SDTYPES}
        own = {str(self.class_column)}
        mask = keys.to_numpy()
        for key in self.proportions:
            if counts[key] < MIN_CLASS_ROWS:
                continue
            if cancel_cb is not None and cancel_cb():
                raise TrainingCanceled()
            self.copulas[key] = marginals.empirical_copula(processed[mask == key], stepped, own)
        if len(self.copulas) < len(self.proportions):
            self.pooled_copula = marginals.empirical_copula(processed, stepped)
        synth._model = next(iter(self.copulas.values()), self.pooled_copula)
        self.shared = SDVSynthesizer(self.synthesizer, self.device, synth)

    def _seed(self, key: str, model: SDVSynthesizer, state: int) -> None:
        if self.shared is None:
            seeding.seed_sampler(model.model, state)
        else:
            self._copula_for(key).set_random_state(np.random.RandomState(state))

    def _copula_for(self, key: str) -> Any:
        copula = self.copulas.get(key, self.pooled_copula)
        if copula is None:
            raise SynthesisError("model_id", "the model is not fitted")
        return copula

    def _model_for(self, key: str) -> SDVSynthesizer:
        model = self.shared or self.models.get(key) or self.pooled
        if model is None:
            raise SynthesisError("model_id", "the model is not fitted")
        return model

    def _sample_from(
        self, key: str, model: SDVSynthesizer, rows: int, conditions: dict[str, Any] | None
    ) -> pd.DataFrame:
        rest = {k: v for k, v in (conditions or {}).items() if k != self.class_column}
        if key not in (self.copulas if self.shared is not None else self.models):
            rest[str(self.class_column)] = self.values[key]
        if self.shared is not None:
            self.shared.model._model = self._copula_for(key)  # the shared data processor, this class's copula
        return model._sample_once(rows, rest or None)

    def class_shares(
        self, conditions: dict[str, Any] | None = None, asked: dict[str, float] | None = None
    ) -> dict[str, float]:
        """The share of rows each class gets: the condition's class only, else ``asked`` (names
        checked against the classes), else the real proportions."""
        if conditions and self.class_column in conditions:
            key = _key(conditions[self.class_column])
            if key not in self.proportions:
                known = ", ".join(k for k in self.proportions if k != NULL)
                raise SynthesisError(f"conditions.{self.class_column}", f"no class {key!r}; the classes are {known}")
            return {key: 1.0}
        if asked:
            unknown = [k for k in asked if _key(k) not in self.proportions]
            if unknown:
                raise SynthesisError(f"class_proportions.{unknown[0]}", f"no class {unknown[0]!r}")
            return {_key(k): float(v) for k, v in asked.items() if float(v) > 0}
        return dict(self.proportions)

    def save(self, path: Path) -> None:
        import cloudpickle

        state = {
            "class_column": self.class_column,
            "synthesizer": self.synthesizer,
            "proportions": self.proportions,
            "values": self.values,
            "models": {k: m.model for k, m in self.models.items()},
            "pooled": self.pooled.model if self.pooled is not None else None,
            "shared": self.shared.model if self.shared is not None else None,
            "copulas": self.copulas,
            "pooled_copula": self.pooled_copula,
        }
        with path.open("wb") as fh:
            cloudpickle.dump(state, fh)

    @classmethod
    def load(cls, path: Path, device: str | None = None) -> StratifiedSynthesizer:
        import pickle

        import_sdv()
        with path.open("rb") as fh:
            state = pickle.load(fh)  # a file this appliance's own train job wrote (found by BLAKE3)
        if not isinstance(state, dict) or "class_column" not in state:
            raise SynthesisError("model_id", "not a stratified model file")
        out = cls(state["synthesizer"], "cpu", state["class_column"])
        out.proportions, out.values = state["proportions"], state["values"]
        out.models = {k: SDVSynthesizer(state["synthesizer"], "cpu", m) for k, m in state["models"].items()}
        out.pooled = SDVSynthesizer(state["synthesizer"], "cpu", state["pooled"]) if state["pooled"] else None
        if state.get("shared") is not None:  # files written before the shared preparation have none
            out.shared = SDVSynthesizer(state["synthesizer"], "cpu", state["shared"])
            out.copulas, out.pooled_copula = state["copulas"], state["pooled_copula"]
        return out
