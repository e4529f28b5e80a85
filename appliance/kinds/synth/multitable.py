"""The multi-table side of the `train` and `synthesize` kinds (``synthesizer: hma``).

Why apart from train.py/synthesize.py: several inputs become named tables, the model is sampled by
root-table rows and writes one artifact per table, and there is no holdout or privacy report (a
holdout would have to cut parents and children apart consistently). The engine is
``services/synth/multi.py``; this module only reads inputs, records the model and writes files.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sealforge_verify import blake3_file

from appliance import errors
from appliance.kinds.base import JobContext, JobFailed, ParamError, column_names
from appliance.services.synth import offline
from appliance.services.synth.interface import SynthesisError

if TYPE_CHECKING:
    import pandas as pd

    from appliance.services.synth.multi import MultiMetadata


def check_train_inputs(params: dict[str, Any], datasets: list[dict[str, Any]]) -> None:
    """At submit: 2-8 inputs, distinct table names, relationships that name real columns."""
    from appliance.services.synth.multi import MAX_TABLES, MIN_TABLES, check_relationships, table_names

    if not MIN_TABLES <= len(datasets) <= MAX_TABLES:
        raise ParamError("synthesizer", f"hma models {MIN_TABLES} to {MAX_TABLES} related input datasets")
    if params.get("metadata"):
        raise ParamError("metadata", "sdtype overrides are not supported with hma")
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


def run_train(ctx: JobContext) -> None:
    """Fit HMA on the inputs; same artifacts and model row as single-table training."""
    from appliance.kinds.synth.train import job_errors
    from appliance.services.synth import multi, records, training

    offline.prepare(ctx.state_dir)
    params = ctx.params
    ctx.progress(0.01, message=f"reading {len(ctx.inputs)} datasets")
    frames = _read_tables(ctx, params["max_rows"])
    ctx.progress(0.1, message=f"training hma on {', '.join(f'{n} ({len(f):,})' for n, f in frames.items())}")
    model = multi.HMAModel()
    with job_errors():
        parsed, meta = multi.detect(frames, params.get("relationships"))
        summary = model.fit(parsed, meta, cancel_cb=ctx.is_canceled)
        ctx.progress(0.7, message="checking fidelity")
        roots = meta.roots() or meta.tables
        check = model.sample(max(meta.table_rows[n] for n in roots), ctx.seed, meta)
        scores = multi.quality(parsed, check, meta, ctx.seed)
    ctx.check_cancel()
    source = _source(ctx, meta, params["max_rows"])
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


def _source(ctx: JobContext, meta: MultiMetadata, max_rows: int) -> dict[str, Any]:
    """Where each table came from, to read it again for a synthesize job's report."""
    tables = {
        name: {"dataset_id": ref.dataset_id, "dataset_blake3": ref.blake3, "rows": meta.table_rows[name]}
        for name, ref in zip(meta.tables, ctx.inputs, strict=True)
    }
    return {"tables": tables, "max_rows": max_rows, "holdout": 0.0}


def _reference(ctx: JobContext, meta: MultiMetadata, source: dict[str, Any]) -> dict[str, pd.DataFrame] | None:
    """The training tables read again (dates parsed as in training); None if any is gone or changed."""
    from appliance.services.datasets.formats import FormatError, read_all
    from appliance.services.synth.frames import to_frame
    from appliance.services.synth.metadata import align_like
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
    return frames


def run_synthesize(ctx: JobContext, row: dict[str, Any], model_path: Any) -> None:
    """Sample every table (``rows`` rows of the root table), one artifact per table, and a report."""
    from appliance.kinds.synth.train import job_errors
    from appliance.services.synth import multi
    from appliance.services.synth.frames import to_arrow
    from appliance.services.synth.report import REPORT_VERSION, versions
    from appliance.services.synth.sampling import MEDIA_TYPES

    params, fmt = ctx.params, ctx.params["format"]
    if params.get("conditions"):
        raise JobFailed("VALIDATION_FAILED", "params.conditions: not supported for multi-table (hma) models")
    meta = multi.MultiMetadata.from_json(row["metadata"])
    with job_errors():
        model = multi.HMAModel.load(model_path)
        ctx.progress(0.1, message=f"sampling {params['rows']:,} root rows over {len(meta.tables)} tables")
        sampled = model.sample(params["rows"], ctx.seed, meta)
    ctx.check_cancel()
    ctx.progress(0.6, message="writing tables")
    for name, frame in sampled.items():
        path = ctx.work_dir / f"{name}.{fmt}"
        _write_table(to_arrow(frame), path, fmt)
        ctx.add_artifact(path, path.name, MEDIA_TYPES[fmt])
    ctx.progress(0.8, message="scoring quality")
    real = _reference(ctx, meta, row["source"])
    counts = {name: len(frame) for name, frame in sampled.items()}
    report: dict[str, Any] = {
        "version": REPORT_VERSION,
        "model_id": row["id"],
        "synthesizer": model.synthesizer,
        "engine": model.engine,
        "seed": ctx.seed,
        "rows": counts,
        "relationships": meta.relationships,
        "source": row["source"],
        "versions": versions(),
        "privacy": None,
        "notes": ["multi-table models keep no holdout, so no privacy (DCR) report is made"],
    }
    if real is None:
        report["notes"].append("a training dataset is no longer available; quality was not computed")
        report.update(quality={"score": None}, tables={})
    else:
        report.update(multi.quality(real, sampled, meta, ctx.seed))
    report_path = ctx.work_dir / "report.json"
    _write_json(report_path, report)
    ctx.add_artifact(report_path, "report.json", "application/json")
    ctx.set_result(
        {
            "rows": sum(counts.values()),
            "tables": counts,
            "format": fmt,
            "artifacts": [f"{name}.{fmt}" for name in sampled],
            "model_id": row["id"],
            "synthesizer": model.synthesizer,
            "device": model.device,
            "quality_score": report["quality"].get("score"),
        }
    )
    ctx.progress(1.0, rows=sum(counts.values()), message="done")


def _write_table(table: Any, path: Any, fmt: str) -> None:
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    if fmt == "parquet":
        pq.write_table(table, path)
    else:
        pa_csv.write_csv(table, path)
