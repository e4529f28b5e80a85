"""The multi-table side of the `train` and `synthesize` kinds (``synthesizer: hma``).

Why apart from train.py/synthesize.py: several inputs become named tables, the holdout is cut
along the keys (a held-out parent takes its children with it), the model is sampled by root-table
rows in chunks and writes one artifact per table. A `synthesize` job trains HMA itself when it is
given 2-5 inputs and ``synthesizer: hma`` instead of a ``model_id``. The engine is
``services/synth/multi.py`` (fit, split, report) and ``multi_sampling.py`` (chunks, writers); this
module only reads inputs, records the model and writes files.

Pricing: a multi-table synthesize job is charged, like its estimate, by the root rows it asks for
(``params.rows``, the job's ``rows``), plus HMA's CPU training price when it trains; the child rows
that come with them are not counted apart (their number is known only once they are drawn).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sealforge_verify import blake3_file

from appliance import errors
from appliance.kinds.base import JobContext, JobFailed, ParamError, column_names
from appliance.services.synth import offline
from appliance.services.synth.interface import SynthesisError

if TYPE_CHECKING:
    import pandas as pd

    from appliance.services.synth.interface import FitSummary
    from appliance.services.synth.multi import HMAModel, MultiMetadata


def check_train_inputs(params: dict[str, Any], datasets: list[dict[str, Any]]) -> None:
    """At submit: 2-5 inputs, distinct table names, relationships that name real columns."""
    from appliance.services.synth.multi import MAX_TABLES, MIN_TABLES, check_relationships, table_names

    if not MIN_TABLES <= len(datasets) <= MAX_TABLES:
        raise ParamError("synthesizer", f"hma models {MIN_TABLES} to {MAX_TABLES} related input datasets")
    if params.get("metadata"):
        raise ParamError("metadata", "sdtype overrides are not supported with hma")
    if params.get("class_proportions"):
        raise ParamError("class_proportions", "class_proportions apply to single-table synthesizers, not hma")
    if params.get("conditions"):
        raise ParamError("conditions", "conditions are not supported for multi-table (hma) models")
    try:
        names = table_names([str(d.get("name") or "") for d in datasets])
        columns = {name: column_names(d.get("columns")) for name, d in zip(names, datasets, strict=True)}
        check_relationships(params.get("relationships"), columns)
    except SynthesisError as exc:
        if exc.field == "inputs":
            raise errors.validation("inputs", exc.message) from exc
        raise ParamError(exc.field, exc.message) from exc


def _read_tables(ctx: JobContext, max_rows: int) -> dict[str, pd.DataFrame]:
    from appliance.services.datasets.formats import FormatError, read_all
    from appliance.services.synth.frames import UnsupportedColumn, to_frame
    from appliance.services.synth.multi import table_names

    frames: dict[str, pd.DataFrame] = {}
    names = table_names([ref.name for ref in ctx.inputs])
    for i, (name, ref) in enumerate(zip(names, ctx.inputs, strict=True)):
        try:
            frames[name] = to_frame(read_all(ref.path, ref.format, max_rows=max_rows))
        except FormatError as exc:
            raise JobFailed("DATASET_INVALID", f"inputs.{i}: {exc}") from exc
        except UnsupportedColumn as exc:
            raise JobFailed("VALIDATION_FAILED", f"inputs.{i}: column {exc.column!r}: {exc.message}") from exc
    return frames


def _write_json(path: Any, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")


@dataclass
class TrainedTables:
    """An HMA model fitted in a job, with the training and holdout tables it was split into."""

    model: HMAModel
    meta: MultiMetadata
    summary: FitSummary
    train: dict[str, pd.DataFrame]
    holdout: dict[str, pd.DataFrame]
    source: dict[str, Any]


def train_tables(ctx: JobContext, params: dict[str, Any], share: float) -> TrainedTables:
    """Read the inputs, split off the holdout along the keys, fit HMA (cancelable while it fits);
    progress runs to ``share``."""
    from appliance.kinds.synth.train import job_errors
    from appliance.services.synth import multi

    offline.prepare(ctx.state_dir)
    ctx.progress(0.01, message=f"reading {len(ctx.inputs)} datasets")
    frames = _read_tables(ctx, params["max_rows"])
    model = multi.HMAModel()
    with job_errors():
        parsed, meta = multi.detect(frames, params.get("relationships"))
        train, holdout = multi.split_tables(parsed, meta, float(params.get("holdout") or 0.0), ctx.seed)
        shown = ", ".join(f"{n} ({len(f):,})" for n, f in train.items())
        ctx.progress(min(0.1, share / 2), message=f"training hma on {shown}")
        summary = model.fit(train, meta, cancel_cb=ctx.is_canceled)
    ctx.progress(share, message="trained")
    source = _source(ctx, meta, params, train, holdout)
    return TrainedTables(model, meta, summary, train, holdout, source)


def run_train(ctx: JobContext) -> None:
    """Fit HMA on the inputs; same artifacts and model row as single-table training."""
    from appliance.kinds.synth.train import job_errors
    from appliance.services.synth import multi, records, training
    from appliance.services.synth.multi_sampling import KEEP_ROWS, plan

    params = ctx.params
    trained = train_tables(ctx, params, share=0.7)
    model, meta, summary = trained.model, trained.meta, trained.summary
    ctx.progress(0.7, message="checking fidelity")
    with job_errors():
        main, per_chunk = plan(model.model, meta, KEEP_ROWS)
        check = model.sample(min(len(trained.train[main]), per_chunk), ctx.seed, meta)
        scores = multi.quality(trained.train, check, meta, ctx.seed)
    ctx.check_cancel()
    source = trained.source
    roots = meta.roots() or meta.tables
    record: dict[str, Any] = {"rows": summary.rows, "epochs": None, "seconds": summary.seconds, "loss": []}
    model_path, meta_path = ctx.work_dir / training.MODEL_FILE, ctx.work_dir / training.METADATA_FILE
    model.save(model_path)
    document = {
        "engine": model.engine,
        "synthesizer": model.synthesizer,
        "device": model.device,
        "tables": meta.tables,
        "relationships": meta.relationships,
        "relationships_detected": meta.relationships_detected,
        "columns": meta.summary(),
        "metadata": meta.to_json(),
        "source": source,
        "training": record,
        "quality": scores,
    }
    _write_json(meta_path, document)
    ctx.add_artifact(model_path, training.MODEL_FILE, "application/octet-stream")
    ctx.add_artifact(meta_path, training.METADATA_FILE, "application/json")
    quality_score = scores["quality"].get("score")
    model_id = records.record_model(
        ctx.state_dir,
        ctx.tenant_id,
        ctx.job_id,
        {
            "dataset_id": source["tables"][roots[0]]["dataset_id"],
            "engine": model.engine,
            "synthesizer": model.synthesizer,
            "device": model.device,
            "artifact_blake3": blake3_file(model_path),
            "columns": meta.summary(),
            "metadata": meta.to_json(),
            "source": source,
            "training": record,
            "quality_score": quality_score,
        },
    )
    ctx.set_result(
        {
            "model_id": model_id,
            "synthesizer": model.synthesizer,
            "device": model.device,
            "rows": summary.rows,
            "tables": meta.table_rows,
            "holdout_rows": {name: len(frame) for name, frame in trained.holdout.items()},
            "relationships": meta.relationships,
            "relationships_detected": meta.relationships_detected,
            "columns": sum(len(t["columns"]) for t in meta.sdv["tables"].values()),
            "epochs": None,
            "seconds": summary.seconds,
            "final_loss": None,
            "quality_score": quality_score,
        }
    )
    ctx.progress(1.0, message="trained")


def _source(
    ctx: JobContext,
    meta: MultiMetadata,
    params: dict[str, Any],
    train: dict[str, pd.DataFrame],
    holdout: dict[str, pd.DataFrame],
) -> dict[str, Any]:
    """Where each table came from and how it was split, to read it (and its holdout) again."""
    from appliance.services.synth.multi import table_names

    names = table_names([ref.name for ref in ctx.inputs])
    tables = {
        name: {
            "dataset_id": ref.dataset_id,
            "dataset_blake3": ref.blake3,
            "rows": meta.table_rows[name],
            "train_rows": len(train[name]),
            "holdout_rows": len(holdout[name]),
        }
        for name, ref in zip(names, ctx.inputs, strict=True)
    }
    return {
        "tables": tables,
        "max_rows": params["max_rows"],
        "holdout": float(params.get("holdout") or 0.0),
        "split_seed": ctx.seed,
    }


def _reference(
    ctx: JobContext, meta: MultiMetadata, source: dict[str, Any]
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]] | None:
    """The training tables and holdout, read again (dates parsed as in training) and split as in
    training; None if any table is gone or changed. Models from before the holdout have none."""
    from appliance.services.datasets.formats import FormatError, read_all
    from appliance.services.synth.frames import to_frame
    from appliance.services.synth.metadata import align_like
    from appliance.services.synth.multi import split_tables
    from appliance.store import datasets as datasets_store
    from appliance.store.blobs import BlobStore
    from appliance.store.open import open_db

    conn = open_db(ctx.state_dir)
    frames: dict[str, pd.DataFrame] = {}
    for name, entry in source["tables"].items():
        row = datasets_store.get_dataset(conn, entry["dataset_id"], ctx.tenant_id)
        if row is None or row["blake3"] != entry["dataset_blake3"]:
            return None
        try:
            table = read_all(BlobStore(ctx.state_dir).path(row["blake3"]), row["format"], max_rows=source["max_rows"])
        except (FormatError, OSError):
            return None
        frame = to_frame(table)
        frame.columns = [str(c) for c in frame.columns]
        frames[name] = align_like(frame, meta.table(name))
    return split_tables(frames, meta, float(source.get("holdout") or 0.0), int(source.get("split_seed") or 0))


def run_synthesize(ctx: JobContext, row: dict[str, Any], model_path: Any) -> None:
    """Sample a trained multi-table model (``model_id``): every table, and a report."""
    from appliance.kinds.synth.train import job_errors
    from appliance.services.synth import multi

    meta = multi.MultiMetadata.from_json(row["metadata"])
    with job_errors():
        model = multi.HMAModel.load(model_path)
    reference = _reference(ctx, meta, row["source"])
    train, holdout = reference if reference is not None else (None, None)
    _sample_and_report(ctx, model, meta, (train, holdout), row["source"], row["id"], start=0.05)


def run_synthesize_trained(ctx: JobContext) -> None:
    """A synthesize job with 2-5 inputs and ``synthesizer: hma``: train HMA here, then sample it
    (the model is not kept: run `train` to keep one)."""
    trained = train_tables(ctx, ctx.params, share=0.5)
    reference = (trained.train, trained.holdout)
    _sample_and_report(ctx, trained.model, trained.meta, reference, trained.source, None, start=0.5)


def _sample_and_report(
    ctx: JobContext,
    model: HMAModel,
    meta: MultiMetadata,
    reference: tuple[dict[str, pd.DataFrame] | None, dict[str, pd.DataFrame] | None],
    source: dict[str, Any],
    model_id: str | None,
    start: float,
) -> None:
    """Sample ``rows`` root rows chunk by chunk into one file per table, then score a closed part
    of the first chunk (quality, and DCR per table against the holdout)."""
    from appliance.kinds.synth.train import job_errors
    from appliance.services.synth import multi
    from appliance.services.synth.multi_sampling import TableWriters, write_chunks
    from appliance.services.synth.report import REPORT_VERSION, versions
    from appliance.services.synth.sampling import MEDIA_TYPES

    params, fmt = ctx.params, ctx.params["format"]
    total = params["rows"]
    if params.get("conditions"):
        raise JobFailed("VALIDATION_FAILED", "params.conditions: not supported for multi-table (hma) models")

    def progress(done: int) -> None:
        ctx.progress(start + (0.85 - start) * done / total, rows=done, message=f"{done:,} of {total:,} root rows")

    ctx.progress(start, rows=0, message=f"sampling {total:,} root rows over {len(meta.tables)} tables")
    writers = TableWriters(ctx.work_dir, fmt)
    with job_errors():
        kept = write_chunks(model, total, ctx.seed, meta, writers, on_chunk=progress)
    ctx.check_cancel()
    for name in meta.tables:
        ctx.add_artifact(writers.path(name), writers.path(name).name, MEDIA_TYPES[fmt])
    ctx.progress(0.85, rows=total, message="scoring quality and privacy")
    counts = {name: writers.rows.get(name, 0) for name in meta.tables}
    train, holdout = reference
    report: dict[str, Any] = {
        "version": REPORT_VERSION,
        "model_id": model_id,
        "synthesizer": model.synthesizer,
        "engine": model.engine,
        "seed": ctx.seed,
        "rows": counts,
        "root_rows": total,
        "rows_compared": {name: len(frame) for name, frame in kept.items()},
        "relationships": meta.relationships,
        "source": source,
        "versions": versions(),
        "notes": [],
    }
    if train is None:
        report["notes"].append("a training dataset is no longer available; quality and privacy were not computed")
        report.update(quality={"score": None}, tables={}, privacy=None)
    else:
        report.update(multi.quality(train, kept, meta, ctx.seed))
        report["privacy"] = multi.privacy(kept, train, holdout, meta, ctx.seed)
        if holdout and any(len(frame) for frame in holdout.values()):
            report["quality_reference"] = multi.quality_reference(train, holdout, meta, ctx.seed)
        else:
            report["notes"].append("the model kept no holdout rows, so DCR has no baseline (risk: unknown)")
    if sum(counts.values()) > sum(report["rows_compared"].values()):
        report["notes"].append("scores compare the first chunk's rows (every key resolving), not every row written")
    report_path = ctx.work_dir / "report.json"
    _write_json(report_path, report)
    ctx.add_artifact(report_path, "report.json", "application/json")
    privacy = report.get("privacy") or {}
    ctx.set_result(
        {
            "rows": sum(counts.values()),
            "root_rows": total,
            "tables": counts,
            "format": fmt,
            "artifacts": [f"{name}.{fmt}" for name in meta.tables],
            "model_id": model_id,
            "synthesizer": model.synthesizer,
            "device": model.device,
            "quality_score": report["quality"].get("score"),
            "privacy_risk": privacy.get("risk"),
            "source": source,
        }
    )
    ctx.progress(1.0, rows=total, message="done")
