"""The `train` kind: fit a generative model on one dataset (or, with ``hma``, on 2-5 related
datasets: see ``multitable``) and keep it.

Artifacts: ``model.pkl`` (the fitted model, the engine's own file) and ``metadata.json`` (engine,
synthesizer, device, columns and their sdtypes, the holdout split, the loss curve, a fidelity
check). The model gets a row in ``models`` (``mdl_…``), which GET /v1/models lists once the job has
succeeded. Runs on the `gpu` queue: CUDA when the worker has it, the CPU otherwise.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import marshmallow as ma
from sealforge_verify import blake3_file

from appliance.kinds.base import (
    MAX_ROWS,
    Estimate,
    JobCanceled,
    JobContext,
    JobFailed,
    Kind,
    ParamError,
    column_names,
    read_input,
    require_known,
)
from appliance.kinds.synth.multitable import check_train_inputs, run_train
from appliance.services.synth import offline
from appliance.services.synth.interface import (
    DEFAULT_EPOCHS,
    DEFAULT_SYNTHESIZER,
    NEURAL,
    REGIME_VAR,
    SEQUENCE_SYNTHESIZERS,
    SEQUENTIAL,
    SYNTHESIZERS,
    EpochEvent,
    SynthesisError,
    TrainingCanceled,
)
from appliance.services.synth.metadata import normalise_overrides
from appliance.services.synth.multi import HMA, MAX_TABLES
from appliance.services.synth.pricing import training_price
from appliance.services.synth.rules import RULE_TYPES
from appliance.services.synth.rules import validate as validate_rules
from appliance.services.synth.sequential import check_config as check_sequence
from appliance.services.synth.split import DEFAULT_HOLDOUT

if TYPE_CHECKING:
    import pandas as pd

    from appliance.services.synth.interface import ProgressCallback
    from appliance.services.synth.training import Trained

DEFAULT_MAX_ROWS = 1_000_000
# Run time, calibrated by bench/estimates.py on a 2-core CPU box with SDV and torch already imported
# (a fresh worker's first synth job adds ~2 s of imports). gaussian_copula took 0.4-0.8 s on 300 rows
# and 0.8-1.4 s on 5,000: fixed + per row, when the input's rows are known at submit (else the fixed
# TRAIN_FIXED_S); ctgan 0.5-1.1 s for 5 epochs and 1.0-1.6 s for 20 on 300 rows (per-epoch cost grows
# with rows, not yet fitted); runs vary ~2x.
TRAIN_FIXED_S = 0.85
COPULA_FIXED_S = 0.55
COPULA_ROW_S = 1.1e-4
NEURAL_FIXED_S = 0.6
NEURAL_EPOCH_S = 0.03
MAX_EPOCHS = 10_000
# par: about 1 ms per training row per epoch on the 2-core box (0.31 s an epoch on 300 rows)
PAR_EPOCH_ROW_S = 1e-3
# regime_var: fixed + per row, metadata and rule detection included (bench/synth_sequences.py on the
# 52-column water table, 2-core box at load ~10: 16 s for 3,600 rows, 120 s for 86,400)
VAR_FIXED_S = 10.0
VAR_ROW_S = 1.2e-3
SEQUENCE_PARAMS = ("sequence_key", "sequence_index", "context_columns", "window")


class RelationshipSchema(ma.Schema):
    parent_table = ma.fields.String(required=True, metadata={"description": "Table (dataset name without extension)"})
    parent_primary_key = ma.fields.String(required=True)
    child_table = ma.fields.String(required=True)
    child_foreign_key = ma.fields.String(required=True)


class TrainingParams(ma.Schema):
    synthesizer = ma.fields.String(
        load_default=DEFAULT_SYNTHESIZER,
        validate=ma.validate.OneOf((*SYNTHESIZERS, HMA)),
        metadata={"description": "hma: multi-table, for 2-5 related input datasets; the others take one"},
    )
    relationships = ma.fields.List(
        ma.fields.Nested(RelationshipSchema),
        load_default=None,
        metadata={"description": "hma only: parent/child keys between the tables; detected when left out"},
    )
    epochs = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=1, max=MAX_EPOCHS),
        metadata={"description": "Training epochs (ctgan, tvae, copulagan only; default 300)"},
    )
    metadata = ma.fields.Dict(
        keys=ma.fields.String(),
        load_default=dict,
        metadata={
            "description": 'Column sdtype overrides: {"zip": "categorical"} or {"day": {"sdtype": '
            '"datetime", "datetime_format": "%d/%m/%Y"}}'
        },
    )
    rules = ma.fields.List(
        ma.fields.Dict(keys=ma.fields.String()),
        load_default=None,
        metadata={
            "description": 'Rules between columns, enforced on every sampled row, e.g. {"type": "null_when", '
            '"column": "attack_id", "when": {"attack": 0}}; types: ' + ", ".join(RULE_TYPES)
        },
    )
    class_column = ma.fields.String(
        load_default=None,
        metadata={"description": "Fit one model per class of this column (a label, an attack technique, a plant "
                  "mode): keeps class-conditional structure; sample by class with conditions or class_proportions"},
    )
    sequence_key = ma.fields.String(
        load_default=None,
        metadata={"description": "par and regime_var only: the column telling sequences apart (an asset, a run); "
                  "left out, the table is one series (par cuts it into windows of `window` rows)"},
    )
    sequence_index = ma.fields.String(
        load_default=None,
        metadata={"description": "par and regime_var only: the ordering column (a datetime or a number); left out, "
                  "the row order"},
    )
    context_columns = ma.fields.List(
        ma.fields.String(),
        load_default=None,
        metadata={"description": "par and regime_var only, with sequence_key: columns constant within a sequence"},
    )
    window = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=2, max=100_000),
        metadata={"description": "par and regime_var only, without sequence_key: rows per window (default "
                  "rows/32, 10-100); the holdout takes whole windows, par trains on windows"},
    )
    detect_rules = ma.fields.Boolean(
        load_default=True,
        metadata={"description": "Also find the rules every training row obeys (fixed combinations, conditional "
                  "nulls and values, inequalities, ranges)"},
    )
    max_rows = ma.fields.Integer(load_default=DEFAULT_MAX_ROWS, validate=ma.validate.Range(min=1, max=MAX_ROWS))
    holdout = ma.fields.Float(
        load_default=DEFAULT_HOLDOUT,
        validate=ma.validate.Range(min=0.0, max=0.5),
        metadata={"description": "Share of rows kept out of training, for the privacy baseline and TSTR"},
    )


def check_training(params: dict[str, Any]) -> None:
    if params.get("relationships") and params["synthesizer"] != HMA:
        raise ParamError("relationships", "relationships apply to synthesizer hma (several input datasets)")
    if params["synthesizer"] == HMA and (params.get("rules") or params.get("detect_rules") is False):
        raise ParamError("rules", "rules apply to single-table synthesizers, not hma")
    if params["synthesizer"] == HMA and params.get("class_column"):
        raise ParamError("class_column", "class_column applies to single-table synthesizers, not hma")
    sequence = {name: params.get(name) for name in SEQUENCE_PARAMS if params.get(name) is not None}
    if sequence and params["synthesizer"] not in SEQUENCE_SYNTHESIZERS:
        raise ParamError(next(iter(sequence)), "applies to the sequence synthesizers (par, regime_var) only")
    if params["synthesizer"] in SEQUENCE_SYNTHESIZERS and params.get("class_column"):
        raise ParamError("class_column", f"{params['synthesizer']} models sequences; class_column applies to "
                         "single-table synthesizers")
    if params.get("context_columns") and not params.get("sequence_key"):
        raise ParamError("context_columns", "need a sequence_key (a single series has no per-sequence context)")
    if params.get("window") is not None and params.get("sequence_key"):
        raise ParamError("window", "applies to a single series (no sequence_key)")
    if params.get("epochs") is not None and params["synthesizer"] not in (*NEURAL, SEQUENTIAL):
        raise ParamError("epochs", f"applies to {', '.join(sorted(NEURAL))}; {params['synthesizer']} has no epochs")
    try:
        normalise_overrides(params.get("metadata"))
        validate_rules(params.get("rules"))
    except SynthesisError as exc:
        raise ParamError(exc.field, exc.message) from exc


def check_inputs(
    _conn: sqlite3.Connection, _tenant_id: str, params: dict[str, Any], datasets: list[dict[str, Any]]
) -> None:
    """One input for a single-table synthesizer, 2-5 for hma; overrides and relationships must name
    real columns. Checked at submit so a wrong call costs nothing and queues nothing."""
    if params["synthesizer"] == HMA:
        check_train_inputs(params, datasets)
        return
    if len(datasets) != 1:
        raise ParamError(
            "synthesizer", f"{len(datasets)} input datasets need synthesizer hma; {params['synthesizer']} models one"
        )
    known = column_names(datasets[0].get("columns"))
    require_known(params.get("metadata") or {}, known, "metadata")
    if params.get("class_column"):
        require_class_column(params["class_column"], known)
    try:
        if params["synthesizer"] in SEQUENCE_SYNTHESIZERS and known:
            check_sequence({name: params.get(name) for name in SEQUENCE_PARAMS}, known)
        validate_rules(params.get("rules"), set(known) or None)
    except SynthesisError as exc:
        raise ParamError(exc.field, exc.message) from exc


def require_class_column(name: str, known: list[str]) -> None:
    if known and name not in known:
        shown = ", ".join(known[:20])
        raise ParamError("class_column", f"unknown column {name!r}; the columns are: {shown}")


def training_seconds(synthesizer: str, epochs: int | None, rows: int | None = None) -> float:
    """Estimated training time (``rows``: those it trains on, when known); credits stay with
    `training_price`, which does not depend on it."""
    if synthesizer == REGIME_VAR:
        return round(VAR_FIXED_S + VAR_ROW_S * (rows or 10_000), 2)
    if synthesizer == SEQUENTIAL:
        return round(NEURAL_FIXED_S + PAR_EPOCH_ROW_S * (rows or 1_000) * (epochs or 64), 2)
    if synthesizer not in NEURAL:
        return TRAIN_FIXED_S if rows is None else round(COPULA_FIXED_S + COPULA_ROW_S * rows, 2)
    return round(NEURAL_FIXED_S + NEURAL_EPOCH_S * (epochs or DEFAULT_EPOCHS), 2)


def estimate(params: dict[str, Any]) -> Estimate:
    return estimate_inputs(params, [])


def input_rows(params: dict[str, Any], rows: list[int | None]) -> int | None:
    """The rows a model trains on: every input's, each capped at ``max_rows``; None if one is unknown."""
    if not rows or any(r is None for r in rows):
        return None
    cap = int(params.get("max_rows") or DEFAULT_MAX_ROWS)
    return sum(min(int(r or 0), cap) for r in rows)


def estimate_inputs(params: dict[str, Any], rows: list[int | None]) -> Estimate:
    price = training_price(params["synthesizer"], params.get("epochs"))
    seconds = training_seconds(params["synthesizer"], params.get("epochs"), input_rows(params, rows))
    return Estimate(rows=0, seconds=seconds, tier=price.tier, extra_micro=price.micro)


@contextmanager
def job_errors() -> Iterator[None]:
    """Service errors as the engine's: bad input names its params field, cancel is a cancel."""
    try:
        yield
    except SynthesisError as exc:
        field = exc.field if exc.field.startswith("inputs") else f"params.{exc.field}"
        raise JobFailed("VALIDATION_FAILED", f"{field}: {exc.message}") from exc
    except TrainingCanceled as exc:
        raise JobCanceled() from exc


def epoch_reporter(ctx: JobContext, start: float, span: float) -> ProgressCallback:
    def report(event: EpochEvent) -> None:
        losses = ", ".join(f"{name} {value:.4f}" for name, value in event.losses.items())
        ctx.progress(start + span * event.epoch / event.epochs, message=f"epoch {event.epoch}/{event.epochs}: {losses}")

    return report


def read_frame(ctx: JobContext, max_rows: int) -> pd.DataFrame:
    from appliance.services.synth.frames import UnsupportedColumn, to_frame

    table = read_input(ctx, max_rows)
    try:
        return to_frame(table)
    except UnsupportedColumn as exc:
        raise JobFailed("VALIDATION_FAILED", f"inputs.0: column {exc.column!r}: {exc.message}") from exc


def train_in_job(ctx: JobContext, params: dict[str, Any], check: bool, share: float) -> Trained:
    """Read the input and train on it, reporting epochs over the first ``share`` of the progress."""
    from appliance.services.synth import training

    offline.prepare(ctx.state_dir)
    ctx.progress(0.01, message="reading the dataset")
    frame = read_frame(ctx, params["max_rows"])
    ctx.progress(0.05, message=f"training {params['synthesizer']} on {len(frame):,} rows")
    ref = ctx.inputs[0]
    with job_errors():
        return training.train(frame, training.TrainingConfig(
            synthesizer=params["synthesizer"],
            epochs=params.get("epochs"),
            overrides=params.get("metadata"),
            rules=params.get("rules"),
            detect_rules=params.get("detect_rules", True),
            class_column=params.get("class_column"),
            sequence={name: params.get(name) for name in SEQUENCE_PARAMS},
            holdout=params["holdout"],
            seed=ctx.seed,
            dataset_id=ref.dataset_id,
            dataset_blake3=ref.blake3,
            max_rows=params["max_rows"],
            progress_cb=epoch_reporter(ctx, 0.05, share - 0.05),
            cancel_cb=ctx.is_canceled,
            check=check,
        ))


def run(ctx: JobContext) -> None:
    from appliance.services.synth import records, training

    if ctx.params["synthesizer"] == HMA:
        run_train(ctx)
        return
    trained = train_in_job(ctx, ctx.params, check=True, share=0.9)
    ctx.check_cancel()
    model_path, meta_path = training.write_files(ctx.work_dir, trained)
    ctx.add_artifact(model_path, training.MODEL_FILE, "application/octet-stream")
    ctx.add_artifact(meta_path, training.METADATA_FILE, "application/json")
    quality_score = trained.quality.get("quality", {}).get("score")
    model_id = records.record_model(
        ctx.state_dir,
        ctx.tenant_id,
        ctx.job_id,
        {
            "dataset_id": trained.source.dataset_id,
            "engine": trained.model.engine,
            "synthesizer": trained.model.synthesizer,
            "device": trained.model.device,
            "artifact_blake3": blake3_file(model_path),
            "columns": trained.metadata.summary(),
            "metadata": trained.metadata.to_json(),
            "source": trained.source.as_dict(),
            "training": training.training_record(trained),
            "quality_score": quality_score,
        },
    )
    loss = trained.summary.loss[-1] if trained.summary.loss else None
    ctx.set_result(
        {
            "model_id": model_id,
            "synthesizer": trained.model.synthesizer,
            "device": trained.model.device,
            "rows": trained.source.train_rows,
            "holdout_rows": trained.source.holdout_rows,
            "columns": len(trained.metadata.columns),
            "epochs": trained.summary.epochs,
            "seconds": trained.summary.seconds,
            "final_loss": loss,
            "quality_score": quality_score,
            **(getattr(trained.model, "timing", None) or {}),
        }
    )
    ctx.progress(1.0, message="trained")


KIND = Kind(
    name="train",
    queue="gpu",
    summary="Train a generative model on a dataset.",
    params_schema=TrainingParams,
    estimate=estimate,
    estimate_inputs=estimate_inputs,
    run=run,
    check=check_training,
    check_inputs=check_inputs,
    deterministic=False,
    min_inputs=1,
    max_inputs=MAX_TABLES,
)
