"""Training one model from a dataset: metadata, holdout split, device, fit, a fidelity check, files.

Both kinds use it: ``train`` keeps the model (artifact + ``models`` row); ``synthesize`` without a
``model_id`` trains one the same way and samples from it at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.services.synth import engines, metadata, rules, sequential, split
from appliance.services.synth.device import pick_device
from appliance.services.synth.interface import (
    SEQUENCE_SYNTHESIZERS,
    CancelCallback,
    FitSummary,
    ProgressCallback,
    SynthesisError,
    Synthesizer,
)
from appliance.services.synth.quality import fidelity
from appliance.services.synth.seeding import seed_globals

if TYPE_CHECKING:
    import pandas as pd

CHECK_ROWS = 5_000
MODEL_FILE = "model.pkl"
METADATA_FILE = "metadata.json"


@dataclass
class Trained:
    model: Synthesizer
    metadata: metadata.TableMetadata
    summary: FitSummary
    train: pd.DataFrame
    holdout: pd.DataFrame
    source: split.Source
    quality: dict[str, Any]


@dataclass(frozen=True)
class TrainingConfig:
    """What to train and how: the synthesizer, the dataset it reads (recorded in the model's
    source), the split and the callbacks. ``validate()`` checks the ranges the kinds' params allow."""

    synthesizer: str
    dataset_id: str
    dataset_blake3: str
    max_rows: int
    holdout: float
    seed: int
    epochs: int | None = None
    overrides: dict[str, Any] | None = None
    rules: list[dict[str, Any]] | None = None
    detect_rules: bool = True
    class_column: str | None = None
    sequence: dict[str, Any] | None = None
    progress_cb: ProgressCallback | None = None
    cancel_cb: CancelCallback | None = None
    check: bool = True

    def validate(self) -> None:
        """Raise SynthesisError naming the first setting out of range."""
        if not 0.0 <= self.holdout <= 0.5:
            raise SynthesisError("holdout", "must be between 0 and 0.5")
        if self.max_rows < 1:
            raise SynthesisError("max_rows", "must be at least 1")
        if self.epochs is not None and self.epochs < 1:
            raise SynthesisError("epochs", "must be at least 1")


def train(frame: pd.DataFrame, config: TrainingConfig) -> Trained:
    """Fit ``config.synthesizer`` on ``frame`` minus a seeded holdout; with ``config.check``, score
    a seeded sample of it against the training rows (the score the leaderboard ranks by)."""
    config.validate()
    if len(frame) == 0 or len(frame.columns) == 0:
        raise SynthesisError("inputs.0", "the dataset holds no rows")
    synthesizer, holdout, seed = config.synthesizer, config.holdout, config.seed
    parsed, table_metadata = metadata.detect(frame, config.overrides)
    found = rules.detect(parsed, table_metadata.sdtypes()) if config.detect_rules else []
    table_metadata.rules = rules.combine(found, rules.declared(config.rules, parsed))
    if synthesizer in SEQUENCE_SYNTHESIZERS:
        table_metadata.sequence = sequential.sequence_config(config.sequence, list(parsed.columns), len(parsed))
        train_rows, holdout_rows = sequential.split_sequences(parsed, table_metadata.sequence, holdout, seed)
    else:
        train_rows, holdout_rows = split.split(parsed, holdout, seed)
    if config.class_column is not None and config.class_column not in parsed.columns:
        raise SynthesisError("class_column", f"unknown column {config.class_column!r}")
    model = engines.create(synthesizer, pick_device(synthesizer), class_column=config.class_column,
                           sequence=table_metadata.sequence)
    seed_globals(seed)
    summary = model.fit(train_rows, table_metadata, config.epochs, config.progress_cb, config.cancel_cb)
    quality: dict[str, Any] = {}
    if config.check:
        sample = table_metadata.enforce(model.sample(min(len(train_rows), CHECK_ROWS), seed))
        quality = fidelity(train_rows, sample, table_metadata, seed)
    source = split.Source(
        dataset_id=config.dataset_id,
        dataset_blake3=config.dataset_blake3,
        max_rows=config.max_rows,
        holdout=holdout,
        split_seed=seed,
        rows=len(parsed),
        train_rows=len(train_rows),
        holdout_rows=len(holdout_rows),
    )
    return Trained(model, table_metadata, summary, train_rows, holdout_rows, source, quality)


def reference_rows(
    frame: pd.DataFrame, table_metadata: metadata.TableMetadata, source: split.Source
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A model's training rows and holdout, rebuilt from its dataset read again the same way."""
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    aligned = metadata.align_like(frame, table_metadata)
    if table_metadata.sequence:
        return sequential.split_sequences(aligned, table_metadata.sequence, source.holdout, source.split_seed)
    return split.split(aligned, source.holdout, source.split_seed)


def training_record(trained: Trained) -> dict[str, Any]:
    summary = trained.summary
    return {
        "rows": summary.rows,
        "epochs": summary.epochs,
        "seconds": summary.seconds,
        "loss": summary.loss,
        **(getattr(trained.model, "timing", None) or {}),
    }


def write_files(work_dir: Path, trained: Trained) -> tuple[Path, Path]:
    """``model.pkl`` (the engine's file) and ``metadata.json`` (what it is, for people and tools)."""
    model_path = work_dir / MODEL_FILE
    trained.model.save(model_path)
    document = {
        "engine": trained.model.engine,
        "synthesizer": trained.model.synthesizer,
        "device": trained.model.device,
        "columns": trained.metadata.summary(),
        "metadata": trained.metadata.to_json(),
        "source": trained.source.as_dict(),
        "training": training_record(trained),
        "quality": trained.quality,
    }
    meta_path = work_dir / METADATA_FILE
    meta_path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    return model_path, meta_path
