"""The train/holdout split: which source rows a model learns from and which it never sees.

The privacy report compares how close synthetic rows sit to the training rows with how close
real rows the model never saw (the holdout) sit to them; the TSTR evaluation tests on the same
holdout. The split is a seeded permutation of row positions, so it is recomputed exactly from the
dataset, the row cap and the seed recorded with the model, and never stored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_HOLDOUT = 0.2
MIN_ROWS_FOR_HOLDOUT = 50


@dataclass(frozen=True)
class Source:
    """Where a model's training rows came from: enough to read them, and its holdout, again."""

    dataset_id: str
    dataset_blake3: str
    max_rows: int
    holdout: float
    split_seed: int
    rows: int = 0
    train_rows: int = 0
    holdout_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Source:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def holdout_count(rows: int, fraction: float) -> int:
    if rows < MIN_ROWS_FOR_HOLDOUT or fraction <= 0:
        return 0
    return min(rows - 1, max(1, round(rows * fraction)))


def split(frame: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout); both keep the source's row order so reading again gives the same split."""
    import numpy as np

    count = holdout_count(len(frame), fraction)
    order = np.random.default_rng(np.random.SeedSequence(int(seed))).permutation(len(frame))
    held = np.zeros(len(frame), dtype=bool)
    held[order[:count]] = True
    return frame[~held].reset_index(drop=True), frame[held].reset_index(drop=True)
