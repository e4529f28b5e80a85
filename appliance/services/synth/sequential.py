"""Sequential synthesis: SDV's PARSynthesizer behind the ``Synthesizer`` interface (synthesizer ``par``).

Plant historian data is a time series per asset; rows sampled independently lose every temporal
structure. PAR (a probabilistic autoregressive LSTM, SDV's ``sdv.sequential.PARSynthesizer``) models
each sequence row after row, conditioned on the sequence's context (columns constant within a
sequence, fitted by a GaussianCopula) and on the time step to the previous row.

- ``sequence_key`` names the column that tells sequences apart (an asset, a run). Left out, the
  table is one series: it is ordered by ``sequence_index`` and cut into consecutive windows of
  ``window`` rows, each window a sequence, so PAR has many; sampling chains the windows back into
  one series (each window starts one typical step after the previous one ends).
- ``sequence_index`` is the ordering column (a datetime or a number); PAR models its differences,
  so timestamps stay increasing within a sequence.
- Training effort is counted in optimiser steps: PAR trains on all sequences as one batch, so one
  epoch is one step; the default step count (``default_epochs``) shrinks as the table grows, to keep
  the run time bounded (each step costs time in proportion to the rows).
- Runs on the CPU (PAR's LSTM is small and its loss is a Python loop; the GPU buys little), so a
  fixed seed gives byte-identical models and rows in any process.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.services.synth import seeding
from appliance.services.synth.interface import (
    CancelCallback,
    EpochEvent,
    FitSummary,
    ProgressCallback,
    SynthesisError,
    Synthesizer,
    TrainingCanceled,
)
from appliance.services.synth.metadata import TABLE, TableMetadata
from appliance.services.synth.offline import import_sdv

if TYPE_CHECKING:
    import pandas as pd

PAR = "par"
ENGINE = "sdv_par"
SEGMENT = "_sf_window"
MIN_WINDOW = 10
MAX_WINDOW = 100
TARGET_WINDOWS = 32
MIN_EPOCHS = 16
MAX_EPOCHS = 256
STEP_ROW_BUDGET = 400_000
"""Default epochs = this many sequence rows processed in all, between MIN and MAX epochs."""


def default_window(rows: int) -> int:
    """Rows per window for a single series: about TARGET_WINDOWS windows, 10-100 rows each."""
    return max(MIN_WINDOW, min(MAX_WINDOW, rows // TARGET_WINDOWS or MIN_WINDOW))


def default_epochs(rows: int) -> int:
    """Optimiser steps (= epochs, PAR trains full-batch) for ``rows`` training rows."""
    return max(MIN_EPOCHS, min(MAX_EPOCHS, STEP_ROW_BUDGET // max(rows, 1)))


def check_config(sequence: dict[str, Any], columns: list[str]) -> None:
    """Every named column exists and plays one part only."""
    key, index = sequence.get("sequence_key"), sequence.get("sequence_index")
    context = list(sequence.get("context_columns") or [])
    for field, name in (("sequence_key", key), ("sequence_index", index)):
        if name is not None and name not in columns:
            raise SynthesisError(field, f"unknown column {name!r}")
    for i, name in enumerate(context):
        if name not in columns:
            raise SynthesisError(f"context_columns.{i}", f"unknown column {name!r}")
        if name in (key, index):
            raise SynthesisError(f"context_columns.{i}", f"{name!r} is the sequence key or index")
    if key is not None and key == index:
        raise SynthesisError("sequence_index", "must differ from sequence_key")
    if context and key is None:
        raise SynthesisError("context_columns", "need a sequence_key (a single series has no per-sequence context)")


def sequence_config(given: dict[str, Any] | None, columns: list[str], rows: int) -> dict[str, Any]:
    """The sequence settings a model keeps (in its metadata): checked against the columns, with the
    window size fixed from the whole table's rows for a single series (the holdout split uses it)."""
    given = given or {}
    sequence: dict[str, Any] = {
        "sequence_key": given.get("sequence_key"),
        "sequence_index": given.get("sequence_index"),
        "context_columns": list(given.get("context_columns") or []),
    }
    check_config(sequence, columns)
    if sequence["sequence_key"] is None:
        window = given.get("window")
        if window is not None and (int(window) < 2 or int(window) > rows):
            raise SynthesisError("window", f"must be between 2 and the table's {rows} rows")
        sequence["window"] = int(window or default_window(rows))
    return sequence


def with_windows(data: pd.DataFrame, sequence: dict[str, Any]) -> pd.DataFrame:
    """The table ordered, with a window number as sequence key when it is a single series."""
    index = sequence.get("sequence_index")
    key = sequence.get("sequence_key")
    if key is None:
        ordered = data.sort_values(index, kind="stable") if index else data
        ordered = ordered.reset_index(drop=True)
        window = int(sequence.get("window") or default_window(len(ordered)))
        ordered[SEGMENT] = (ordered.index // window).astype("int64")
        return ordered
    by = [key, index] if index else [key]
    return data.sort_values(by, kind="stable").reset_index(drop=True)


def split_sequences(
    data: pd.DataFrame, sequence: dict[str, Any], fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and holdout rows by whole sequences (windows for a single series), seeded."""
    import numpy as np

    framed = with_windows(data, sequence)
    key = sequence.get("sequence_key") or SEGMENT
    ids = framed[key].drop_duplicates().to_numpy()
    count = round(len(ids) * fraction)
    if fraction <= 0 or count == 0 or count >= len(ids):
        return _drop_segment(framed), framed.iloc[0:0].drop(columns=[SEGMENT], errors="ignore")
    picked = set(np.random.default_rng(seed).choice(len(ids), size=count, replace=False).tolist())
    held = framed[key].isin([ids[i] for i in sorted(picked)])
    return _drop_segment(framed[~held]).reset_index(drop=True), _drop_segment(framed[held]).reset_index(drop=True)


def _drop_segment(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[SEGMENT], errors="ignore")


def create_sequential(synthesizer: str, sequence: dict[str, Any] | None) -> Synthesizer:
    """A new sequence model: ``par`` (SDV's PAR, below) or ``regime_var`` (``regime_var``)."""
    if synthesizer == PAR:
        return SequentialSynthesizer(PAR, "cpu", sequence)
    from appliance.services.synth.regime_var import SYNTHESIZER, RegimeVARSynthesizer

    if synthesizer != SYNTHESIZER:
        raise SynthesisError("synthesizer", f"one of {PAR}, {SYNTHESIZER}")
    return RegimeVARSynthesizer(SYNTHESIZER, "cpu", sequence)


class SequentialSynthesizer(Synthesizer):
    engine = ENGINE

    def __init__(self, synthesizer: str = PAR, device: str = "cpu", sequence: dict[str, Any] | None = None,
                 model: Any = None) -> None:
        if synthesizer != PAR:
            raise SynthesisError("synthesizer", f"the sequential engine models {PAR} only")
        self.synthesizer = PAR
        self.device = "cpu"
        self.sequence = dict(sequence or {})
        self.model = model
        self.timing: dict[str, Any] = {}

    def _sdv_metadata(self, metadata: TableMetadata, data: pd.DataFrame) -> Any:
        sdv_meta = metadata.to_sdv()
        key = self.sequence.get("sequence_key") or SEGMENT
        table = sdv_meta.tables[TABLE]
        if table.primary_key is not None:
            sdv_meta.remove_primary_key(TABLE)
        if key not in table.columns:
            sdv_meta.add_column(key, TABLE, sdtype="id")
        else:
            sdv_meta.update_column(key, TABLE, sdtype="id")
        sdv_meta.set_sequence_key(key, TABLE)
        if self.sequence.get("sequence_index"):
            sdv_meta.set_sequence_index(self.sequence["sequence_index"], TABLE)
        return sdv_meta

    def fit(
        self,
        data: pd.DataFrame,
        metadata: TableMetadata,
        epochs: int | None = None,
        progress_cb: ProgressCallback | None = None,
        cancel_cb: CancelCallback | None = None,
    ) -> FitSummary:
        """Fit PAR; the epoch events carry the loss, and cancel stops between epochs."""
        import_sdv()
        import numpy as np
        import torch
        from deepecho.models import par as deepecho_par
        from sdv.sequential import PARSynthesizer
        from sdv.sequential import par as sdv_par

        started = time.perf_counter()
        check_config(self.sequence, list(data.columns))
        framed = with_windows(data, self.sequence)
        if not self.sequence.get("sequence_key"):
            self.sequence.setdefault("window", default_window(len(data)))
            index = self.sequence.get("sequence_index")
            steps = framed[index].diff().dropna() if index else None
            self.sequence["step"] = None if steps is None or steps.empty else steps.median()
        else:
            self.sequence["mean_length"] = float(framed.groupby(self.sequence["sequence_key"]).size().mean())
        run_epochs = int(epochs or default_epochs(len(framed)))
        model = PARSynthesizer(
            self._sdv_metadata(metadata, framed),
            context_columns=list(self.sequence.get("context_columns") or []),
            epochs=run_epochs,
            cuda=False,
            verbose=False,
        )
        marks: list[float] = []
        curve: list[dict[str, float]] = []

        class WatchedPAR(deepecho_par.PARModel):  # type: ignore[misc]
            """PARModel that reports each epoch: ``loss_values`` is set empty just before the loop
            and reassigned after every epoch."""

            def __setattr__(self, name: str, value: Any) -> None:
                object.__setattr__(self, name, value)
                if name != "loss_values":
                    return
                if len(value) == 0:  # set empty in __init__ and again just before the loop
                    marks[:] = [time.perf_counter()]
                    return
                marks.append(time.perf_counter())
                loss = float(value["Loss"].iloc[-1])
                curve.append({"loss": round(loss, 6)})
                if progress_cb is not None:
                    progress_cb(EpochEvent(len(curve), run_epochs, {"loss": loss}))
                if cancel_cb is not None and cancel_cb():
                    raise TrainingCanceled()

        if cancel_cb is not None and cancel_cb():
            raise TrainingCanceled()
        # training.train seeded NumPy's global generator from the job seed; torch may only just
        # have been imported, so it is seeded from that stream (same seed, same weights)
        torch.manual_seed(int(np.random.randint(0, 2**31 - 1)))
        original = sdv_par.PARModel
        sdv_par.PARModel = WatchedPAR
        try:
            model.fit({TABLE: framed})
        finally:
            sdv_par.PARModel = original
        model._model.__class__ = original
        model._sf_sequence = dict(self.sequence)
        self.model = model
        finished = time.perf_counter()
        loop_start = marks[0] if marks else finished
        epoch_times = [b - a for a, b in itertools.pairwise(marks)]
        self.timing = {
            "preparation_seconds": round(loop_start - started, 3),
            "epoch_seconds": round(sum(epoch_times) / len(epoch_times), 4) if epoch_times else None,
            "optimiser_steps": run_epochs,
            "sequences": int(framed[self.sequence.get("sequence_key") or SEGMENT].nunique()),
        }
        return FitSummary(
            synthesizer=PAR, device="cpu", rows=len(data), epochs=run_epochs,
            seconds=round(finished - started, 3), loss=curve,
        )

    def _seed(self, seed: int) -> None:
        import numpy as np

        seeding.seed_globals(seed)
        states = seeding.seed_states(seed, 64)
        seeding.seed_sampler(self.model._context_synthesizer, states[0])
        for transformer, state in zip(seeding._transformers(self.model), states[2:], strict=False):
            if getattr(transformer, "random_states", None) is not None and hasattr(transformer, "set_random_state"):
                transformer.set_random_state(np.random.RandomState(state), "reverse_transform")

    def sample_chunks(
        self, rows: int, seed: int, chunk_rows: int, conditions: dict[str, Any] | None = None
    ) -> Iterator[pd.DataFrame]:
        """Whole sequences, batch after batch, from one seeded stream; a single series is chained
        into one series, a keyed table gets fresh sequence keys 0, 1, 2, ..."""
        if self.model is None:
            raise SynthesisError("model_id", "the model is not fitted")
        if conditions:
            raise SynthesisError("conditions", "par does not sample under conditions")
        self._seed(seed)
        key = self.sequence.get("sequence_key")
        window = int(self.sequence.get("window") or MAX_WINDOW)
        done, next_key, last_time = 0, 0, None
        while done < rows:
            want = min(chunk_rows, rows - done)
            if key is None:
                frame = self.model.sample_sequences(math.ceil(want / window), sequence_length=window)[TABLE]
                frame, last_time = self._chain(frame, last_time)
            else:
                mean = max(1.0, float(self.sequence.get("mean_length") or window))
                frame = self.model.sample_sequences(max(1, math.ceil(want / mean)))[TABLE]
                codes = frame[key].astype("category").cat.codes.to_numpy()
                frame[key] = codes + next_key
                next_key += int(codes.max()) + 1 if len(codes) else 0
            frame = frame.iloc[:want].reset_index(drop=True)
            done += len(frame)
            yield frame
            if frame.empty:
                return

    def _chain(self, frame: pd.DataFrame, last_time: Any) -> tuple[pd.DataFrame, Any]:
        """Windows joined into one series: each starts one typical step after the last one ends."""
        index, step = self.sequence.get("sequence_index"), self.sequence.get("step")
        windows = [part for _, part in frame.groupby(SEGMENT, sort=False)]
        out = []
        for part in windows:
            part = part.drop(columns=[SEGMENT])
            if index and step is not None and last_time is not None:
                part[index] = part[index] - part[index].iloc[0] + last_time + step
            if index:
                last_time = part[index].iloc[-1]
            out.append(part)
        import pandas as pd

        return pd.concat(out, ignore_index=True), last_time

    def save(self, path: Path) -> None:
        self.model.save(str(path))

    @classmethod
    def load(cls, path: Path, device: str | None = None) -> SequentialSynthesizer:
        import_sdv()
        from sdv.utils import load_synthesizer

        model = load_synthesizer(str(path))
        if type(model).__name__ != "PARSynthesizer":
            raise SynthesisError("model_id", f"not a sequential model ({type(model).__name__})")
        return cls(PAR, "cpu", dict(getattr(model, "_sf_sequence", {}) or {}), model)
