"""The synthesizer interface every engine implements, and the names the API accepts.

The kinds (``train``, ``synthesize``), the report and the benchmark talk only to ``Synthesizer``;
the SDV engine is one implementation (``sdv_engine``). Another engine plugs in by implementing this
class and registering a factory and a loader in ``engines`` (see docs/synthesis.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from appliance.services.synth.metadata import TableMetadata

SYNTHESIZERS = ("gaussian_copula", "ctgan", "tvae", "copulagan", "par", "regime_var")
SEQUENTIAL = "par"
"""SDV's sequential (time series) synthesizer: ``sequential.SequentialSynthesizer``."""
REGIME_VAR = "regime_var"
SEQUENCE_SYNTHESIZERS = ("par", REGIME_VAR)
"""Synthesizers of sequences (they take sequence_key, sequence_index, context_columns, window):
``par`` and ``regime_var`` (``regime_var.RegimeVARSynthesizer``, a regime-switching VAR)."""
NEURAL = frozenset({"ctgan", "tvae", "copulagan"})
DEFAULT_SYNTHESIZER = "gaussian_copula"
DEFAULT_EPOCHS = 300
TASKS = ("auto", "classification", "regression")


@dataclass(frozen=True)
class EpochEvent:
    """One finished training epoch: its number (1-based), the total, and the losses it ended with."""

    epoch: int
    epochs: int
    losses: dict[str, float]


ProgressCallback = Callable[[EpochEvent], None]
CancelCallback = Callable[[], bool]


class TrainingCanceled(Exception):
    """Raised out of ``fit`` when the cancel callback said stop; the half-trained model is dropped."""


class SynthesisError(ValueError):
    """Bad input found while fitting or sampling; ``field`` names the params path at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass
class FitSummary:
    """What training produced, beside the model: recorded in the model row and the job result."""

    synthesizer: str
    device: str
    rows: int
    epochs: int | None
    seconds: float
    loss: list[dict[str, float]] = field(default_factory=list)


class Synthesizer(ABC):
    """A generative model of one table.

    ``fit`` learns from a DataFrame described by ``TableMetadata``; ``sample`` must give the same
    rows for the same fitted model and seed in any process; ``save``/``load`` round-trip the model
    through one file (the artifact the ``train`` job seals).
    """

    engine: str
    synthesizer: str
    device: str

    @abstractmethod
    def fit(
        self,
        data: pd.DataFrame,
        metadata: TableMetadata,
        epochs: int | None = None,
        progress_cb: ProgressCallback | None = None,
        cancel_cb: CancelCallback | None = None,
    ) -> FitSummary: ...

    def sample(self, rows: int, seed: int, conditions: dict[str, Any] | None = None) -> pd.DataFrame:
        """``rows`` rows in one piece, every generator reseeded from ``seed`` first."""
        import pandas as pd

        return pd.concat(list(self.sample_chunks(rows, seed, max(rows, 1), conditions)), ignore_index=True)

    @abstractmethod
    def sample_chunks(
        self, rows: int, seed: int, chunk_rows: int, conditions: dict[str, Any] | None = None
    ) -> Iterator[pd.DataFrame]:
        """``rows`` rows as chunks of ``chunk_rows``: one seeded stream, so the same seed and chunk
        size give the same chunks in any process, and memory stays bounded by one chunk."""

    @abstractmethod
    def save(self, path: Path) -> None: ...

    @classmethod
    @abstractmethod
    def load(cls, path: Path, device: str | None = None) -> Synthesizer: ...
