"""The `synthesize` kind: rows from a trained model, with a quality and privacy report.

Either ``model_id`` (a model from a `train` job; no input dataset) or a ``synthesizer`` and one
input dataset (2-5 related ones with ``hma``), which is trained on first (that model is not kept:
run `train` to keep one). Rows
are sampled in chunks from one stream seeded by the job's seed, written as Parquet or CSV
(``rows.parquet`` / ``rows.csv``), and scored in ``report.json``. From a ``model_id`` the job is
deterministic: a rerun gives byte-identical artifacts. Each row costs 1 micro-credit.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import marshmallow as ma

from appliance import errors
from appliance.ids import is_id
from appliance.kinds.base import (
    MAX_ROWS,
    Estimate,
    JobContext,
    JobFailed,
    Kind,
    ParamError,
    column_names,
    require_known,
)
from appliance.kinds.synth.multitable import check_train_inputs, run_synthesize, run_synthesize_trained
from appliance.kinds.synth.train import (
    DEFAULT_MAX_ROWS,
    MAX_EPOCHS,
    SEQUENCE_PARAMS,
    RelationshipSchema,
    check_training,
    input_rows,
    job_errors,
    require_class_column,
    train_in_job,
    training_seconds,
)
from appliance.services.synth import offline
from appliance.services.synth.interface import (
    DEFAULT_SYNTHESIZER,
    SEQUENCE_SYNTHESIZERS,
    SYNTHESIZERS,
    SynthesisError,
)
from appliance.services.synth.multi import HMA, MAX_TABLES, is_multi
from appliance.services.synth.pricing import training_price
from appliance.services.synth.rules import validate as validate_rules
from appliance.services.synth.sampling import MEDIA_TYPES, SAMPLE_FORMATS
from appliance.services.synth.sequential import check_config as check_sequence
from appliance.services.synth.split import DEFAULT_HOLDOUT

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from appliance.services.synth.interface import Synthesizer
    from appliance.services.synth.metadata import TableMetadata
    from appliance.services.synth.split import Source

MAX_SYNTH_ROWS = 1_000_000_000
# Sampling from a trained model, calibrated by bench/estimates.py on a 2-core CPU box: ~0.15 s fixed
# (model load, report) and ~170 k rows/s (1,000 rows in 0.12-0.22 s, 10,000 in 0.18-0.27 s).
ROWS_PER_SECOND = 170_000
FIXED_SECONDS = 0.15
TRAINING_DEFAULTS: dict[str, Any] = {
    "synthesizer": DEFAULT_SYNTHESIZER,
    "epochs": None,
    "metadata": {},
    "max_rows": DEFAULT_MAX_ROWS,
    "holdout": DEFAULT_HOLDOUT,
}
# Training params added later, kept apart so a published-form request's model reuse (which compares
# TRAINING_DEFAULTS with a model's settings) is unchanged; with model_id they are refused as well.
TRAINING_EXTRAS: dict[str, Any] = {
    "rules": None, "detect_rules": True, "class_column": None,
    "sequence_key": None, "sequence_index": None, "context_columns": None, "window": None,
    "relationships": None,
}
TRAINING_PARAMS = {**TRAINING_DEFAULTS, **TRAINING_EXTRAS}
SEQUENCE_HELP = "Without model_id, par or regime_var: see train"


class SynthesizeParams(ma.Schema):
    model_id = ma.fields.String(
        load_default=None, metadata={"description": "A trained model (mdl_…); leave out to train on the input first"}
    )
    rows = ma.fields.Integer(load_default=1000, validate=ma.validate.Range(min=1, max=MAX_SYNTH_ROWS))
    format = ma.fields.String(load_default="parquet", validate=ma.validate.OneOf(SAMPLE_FORMATS))
    conditions = ma.fields.Dict(
        keys=ma.fields.String(),
        load_default=None,
        metadata={"description": 'Fixed column values for every row, e.g. {"income": ">50K"}'},
    )
    class_proportions = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Float(validate=ma.validate.Range(min=0.0)),
        load_default=None,
        metadata={
            "description": 'With a model trained with class_column: the share of rows per class, e.g. {"0": 0.5, '
            '"1": 0.5}; default the real proportions. A condition on the class column samples that class only'
        },
    )
    synthesizer = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf((*SYNTHESIZERS, HMA)),
        metadata={"description": "Without model_id: train this synthesizer on the input dataset first "
                  "(hma: on 2-5 related input datasets)"},
    )
    relationships = ma.fields.List(
        ma.fields.Nested(RelationshipSchema),
        load_default=None,
        metadata={"description": "Without model_id, hma: parent/child keys between the tables; detected when left out"},
    )
    epochs = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1, max=MAX_EPOCHS))
    metadata = ma.fields.Dict(keys=ma.fields.String(), load_default=None)
    max_rows = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1, max=MAX_ROWS))
    holdout = ma.fields.Float(load_default=None, validate=ma.validate.Range(min=0.0, max=0.5))
    rules = ma.fields.List(
        ma.fields.Dict(keys=ma.fields.String()),
        load_default=None,
        metadata={"description": "Without model_id: rules between columns (see the train kind)"},
    )
    class_column = ma.fields.String(
        load_default=None, metadata={"description": "Without model_id: one model per class of this column"}
    )
    sequence_key = ma.fields.String(load_default=None, metadata={"description": SEQUENCE_HELP})
    sequence_index = ma.fields.String(load_default=None, metadata={"description": SEQUENCE_HELP})
    context_columns = ma.fields.List(ma.fields.String(), load_default=None, metadata={"description": SEQUENCE_HELP})
    window = ma.fields.Integer(
        load_default=None, validate=ma.validate.Range(min=2, max=100_000),
        metadata={"description": SEQUENCE_HELP},
    )
    detect_rules = ma.fields.Boolean(
        load_default=None,
        metadata={"description": "Without model_id: also find the rules the rows obey (default true)"},
    )


def check(params: dict[str, Any]) -> None:
    if params["model_id"] is None:
        check_training({**TRAINING_PARAMS, **{k: params[k] for k in TRAINING_PARAMS if params.get(k) is not None}})
        return
    if not is_id(params["model_id"], "mdl"):
        raise ParamError("model_id", "not a model id (mdl_…)")
    for name in TRAINING_PARAMS:
        if params.get(name) is not None:
            raise ParamError(name, "give either model_id or training params (synthesizer and an input), not both")


def check_inputs(
    conn: sqlite3.Connection, tenant_id: str, params: dict[str, Any], datasets: list[dict[str, Any]]
) -> None:
    """At submit: the model exists, the inputs fit the mode, and named columns exist."""
    from appliance.store import models as models_store

    if params.get("model_id"):
        if datasets:
            raise errors.validation("inputs", "a job with model_id takes no input dataset")
        model = models_store.get_model(conn, params["model_id"], tenant_id)
        if model is None:
            raise ParamError("model_id", f"model {params['model_id']!r} was not found")
        if model["synthesizer"] == HMA:
            if params.get("conditions"):
                raise ParamError("conditions", "conditions are not supported for multi-table (hma) models")
            if params.get("class_proportions"):
                raise ParamError("class_proportions", "the model was not trained with a class_column")
            return
        known = column_names(model["columns"])
        if model["synthesizer"] in SEQUENCE_SYNTHESIZERS and params.get("conditions"):
            raise ParamError("conditions", f"{model['synthesizer']} (sequential) models sample whole sequences, "
                             "not under conditions")
        if params.get("class_proportions") and not _stratified(model):
            raise ParamError("class_proportions", "the model was not trained with a class_column")
    elif params.get("synthesizer") == HMA:
        check_train_inputs(params, datasets)
        return
    else:
        if len(datasets) != 1:
            raise errors.validation("inputs", "without model_id, give one input dataset to train on")
        known = column_names(datasets[0].get("columns"))
        require_known(params.get("metadata") or {}, known, "metadata")
        if params.get("class_column"):
            require_class_column(params["class_column"], known)
        try:
            validate_rules(params.get("rules"), set(known) or None)
            if params.get("synthesizer") in SEQUENCE_SYNTHESIZERS and known:
                check_sequence({name: params.get(name) for name in SEQUENCE_PARAMS}, known)
        except SynthesisError as exc:
            raise ParamError(exc.field, exc.message) from exc
        if params.get("class_proportions") and not params.get("class_column"):
            raise ParamError("class_proportions", "give class_column too (the column the proportions are of)")
    require_known(params.get("conditions") or {}, known, "conditions")


def _stratified(model: dict[str, Any]) -> bool:
    from appliance.services.synth.stratified import ENGINE

    return bool(model.get("engine") == ENGINE)


def prepare(params: dict[str, Any], _seed: int) -> dict[str, Any]:
    """Fill the training defaults when the job trains its own model, so the contract shows them."""
    if params["model_id"] is not None:
        return {k: v for k, v in params.items() if k not in TRAINING_PARAMS}
    return {**params, **{k: params[k] if params.get(k) is not None else v for k, v in TRAINING_PARAMS.items()}}


def estimate(params: dict[str, Any]) -> Estimate:
    return estimate_inputs(params, [])


def estimate_inputs(params: dict[str, Any], rows: list[int | None]) -> Estimate:
    """Sampling time, plus the training time when the job trains its own model on its input
    (``rows``: the input's rows, which the training time grows with)."""
    seconds = FIXED_SECONDS + params["rows"] / ROWS_PER_SECOND
    if params.get("model_id"):
        return Estimate(rows=params["rows"], seconds=round(seconds, 2), tier="CPU")
    price = training_price(params["synthesizer"], params.get("epochs"))
    seconds += training_seconds(params["synthesizer"], params.get("epochs"), input_rows(params, rows))
    return Estimate(rows=params["rows"], seconds=round(seconds, 2), tier=price.tier, extra_micro=price.micro)


@dataclass
class _Ready:
    """A model to sample from, and the real rows (if still at hand) its report compares with."""

    model: Synthesizer
    metadata: TableMetadata
    source: Source
    train: pd.DataFrame | None
    holdout: pd.DataFrame | None
    model_id: str | None
    start: float


def _reference(
    ctx: JobContext, table_metadata: TableMetadata, source: Source
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The model's training rows and holdout, read again from its dataset (None if it is gone)."""
    from appliance.services.datasets.formats import FormatError, read_all
    from appliance.services.synth.frames import to_frame
    from appliance.services.synth.training import reference_rows
    from appliance.store import datasets as datasets_store
    from appliance.store.blobs import BlobStore
    from appliance.store.open import open_db

    row = datasets_store.get_dataset(open_db(ctx.state_dir), source.dataset_id, ctx.tenant_id)
    if row is None or row["blake3"] != source.dataset_blake3:
        return None, None
    try:
        table = read_all(BlobStore(ctx.state_dir).path(row["blake3"]), row["format"], max_rows=source.max_rows)
    except (FormatError, OSError):
        return None, None
    return reference_rows(to_frame(table), table_metadata, source)


def _from_model(ctx: JobContext) -> _Ready:
    from appliance.services.synth import engines
    from appliance.services.synth.metadata import TableMetadata
    from appliance.services.synth.split import Source
    from appliance.store import models as models_store
    from appliance.store.blobs import BlobStore
    from appliance.store.open import open_db

    model_id = ctx.params["model_id"]
    if ctx.inputs:
        raise JobFailed("VALIDATION_FAILED", "inputs: a job with model_id takes no input dataset")
    row = models_store.get_model(open_db(ctx.state_dir), model_id, ctx.tenant_id)
    if row is None:
        raise JobFailed("VALIDATION_FAILED", f"params.model_id: model {model_id!r} was not found")
    path = BlobStore(ctx.state_dir).path(row["artifact_blake3"])
    if not path.is_file():
        raise JobFailed("MODEL_MISSING", f"the file of model {model_id} is missing from the blob store")
    if is_multi(row["metadata"]):
        raise _MultiTable(row, path)
    ctx.progress(0.02, message=f"loading model {model_id}")
    with job_errors():
        model = engines.load(path, row["engine"])
    table_metadata = TableMetadata.from_json(row["metadata"])
    source = Source.from_dict(row["source"])
    train, holdout = _reference(ctx, table_metadata, source)
    return _Ready(model, table_metadata, source, train, holdout, model_id, start=0.05)


def _trained_here(ctx: JobContext) -> _Ready:
    if len(ctx.inputs) != 1:
        raise JobFailed("VALIDATION_FAILED", "inputs: without model_id, give one input dataset to train on")
    trained = train_in_job(ctx, ctx.params, check=False, share=0.6)
    return _Ready(trained.model, trained.metadata, trained.source, trained.train, trained.holdout, None, start=0.6)


def _check_conditions(conditions: dict[str, Any] | None, columns: dict[str, Any]) -> None:
    for name in conditions or {}:
        if name not in columns:
            known = ", ".join(list(columns)[:20])
            raise JobFailed("VALIDATION_FAILED", f"params.conditions.{name}: unknown column {name!r}; columns: {known}")


class _MultiTable(Exception):
    """The model_id is a multi-table model: ``run`` hands it to ``multitable.run_synthesize``."""

    def __init__(self, row: dict[str, Any], path: Path) -> None:
        super().__init__(row["id"])
        self.row, self.path = row, path


def run(ctx: JobContext) -> None:
    from appliance.services.synth.report import build_report
    from appliance.services.synth.sampling import write_rows

    offline.prepare(ctx.state_dir)
    params = ctx.params
    if not params.get("model_id") and params.get("synthesizer") == HMA:
        run_synthesize_trained(ctx)
        return
    try:
        got = _from_model(ctx) if params.get("model_id") else _trained_here(ctx)
    except _MultiTable as multi_table:
        run_synthesize(ctx, multi_table.row, multi_table.path)
        return
    model, table_metadata, source = got.model, got.metadata, got.source
    _check_conditions(params.get("conditions"), table_metadata.columns)
    if params.get("class_proportions"):
        model.asked = params["class_proportions"]  # type: ignore[attr-defined]  # checked at submit: stratified
    total, start, fmt = params["rows"], got.start, params["format"]
    path = ctx.work_dir / f"rows.{fmt}"

    def progress(done: int) -> None:
        ctx.progress(start + (0.9 - start) * done / total, rows=done, message=f"{done:,} of {total:,} rows")

    ctx.progress(start, rows=0, message=f"sampling {total:,} rows on {model.device}")
    with job_errors():
        kept, written = write_rows(
            model, total, ctx.seed, fmt, path, params.get("conditions"), on_chunk=progress,
            table_metadata=table_metadata,
        )
    ctx.progress(0.9, message="scoring quality and privacy")
    about = {
        "model_id": got.model_id,
        "synthesizer": model.synthesizer,
        "engine": model.engine,
        "seed": ctx.seed,
        "rows": written,
        "conditions": params.get("conditions"),
        "class_proportions": params.get("class_proportions"),
        "source": source.as_dict(),
    }
    report = build_report(kept, got.train, got.holdout, table_metadata, ctx.seed, about)
    report_path = ctx.work_dir / "report.json"
    report_path.write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")
    ctx.add_artifact(path, path.name, MEDIA_TYPES[fmt])
    ctx.add_artifact(report_path, "report.json", "application/json")
    privacy = report.get("privacy") or {}
    ctx.set_result(
        {
            "rows": written,
            "format": fmt,
            "artifact": path.name,
            "model_id": got.model_id,
            "synthesizer": model.synthesizer,
            "device": model.device,
            "quality_score": report["quality"].get("score"),
            "quality_reference": (report.get("quality_reference") or {}).get("score"),
            "quality_verdict": report["summary"][0]["verdict"],
            "diagnostic_score": report["diagnostic"].get("score"),
            "privacy_risk": privacy.get("risk"),
            "dcr_ratio": (privacy.get("dcr") or {}).get("ratio"),
            "exact_copy_rate": privacy.get("exact_copy_rate"),
            "rules_held": report["rules"]["held"],
            "rules_total": report["rules"]["total"],
            "source": source.as_dict(),
            "date_formats": table_metadata.date_formats,
        }
    )
    ctx.progress(1.0, rows=written, message="done")


KIND = Kind(
    name="synthesize",
    queue="gpu",
    summary="Rows from a trained model, with a quality and privacy report.",
    params_schema=SynthesizeParams,
    estimate=estimate,
    estimate_inputs=estimate_inputs,
    run=run,
    check=check,
    prepare=prepare,
    check_inputs=check_inputs,
    deterministic=True,
    min_inputs=0,
    max_inputs=MAX_TABLES,
)
