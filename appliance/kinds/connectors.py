"""The `connector_import` and `connector_deliver` kinds: data in from a plant source, results out.

An import streams the source (`Connector.read`) to a file in the job's work dir in one pass:
hashing it (BLAKE3 and SHA-256), checking the cancel flag and the quota at every chunk, and, for
CSV and TSV, feeding the dataset validator's parse as the bytes arrive (`StreamCheck`), so the
parse overlaps the read; for Parquet whose footer the connector fetched first (S3), the decode of
each row group runs as its bytes land in the file (`ParquetStreamCheck`). The file then becomes
the dataset's blob and the job's artifact by hard link, with the digests already computed
(`ingest_hashed`, `add_artifact(hashed=...)`): no copy and no second hash. The checks and their
errors are an upload's, so what an import makes is a dataset like any other. A delivery writes
artifacts of a succeeded job of the same tenant to the destination.

Both are sealed like every job: the contract holds the connector's id, type and settings (never
its credentials) and the source or target; the imported file is an artifact, so its digests are
subjects of the statement, and `import.json` / `delivery.json` record what was read or written
with its hashes. Neither is deterministic: the source may change between runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import blake3
import marshmallow as ma

from appliance.config import load_config
from appliance.errors import AppError
from appliance.kinds.base import Estimate, JobContext, JobFailed, Kind, ParamError
from appliance.services.connectors import environment, manage
from appliance.services.connectors.base import ConnectorError, ReadStream, file_chunks
from appliance.services.connectors.tabular import format_of
from appliance.store import connectors as connectors_store
from appliance.store import jobs as jobs_store
from appliance.store.blobs import BlobStore
from appliance.store.open import open_db

if TYPE_CHECKING:
    from appliance.services.datasets.streaming import ArrivingCheck

_CONNECTOR_ID = ma.validate.Regexp(r"^con_[0-9A-Z]{26}$")


class ConnectorRef(ma.Schema):
    id = ma.fields.String(required=True, validate=_CONNECTOR_ID)
    type = ma.fields.String(required=True)
    settings = ma.fields.Dict(required=True)


class ImportParams(ma.Schema):
    connector = ma.fields.Nested(ConnectorRef, required=True)
    source = ma.fields.Dict(required=True)
    name = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))


class DeliverParams(ma.Schema):
    connector = ma.fields.Nested(ConnectorRef, required=True)
    target = ma.fields.Dict(required=True)
    job_id = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^job_[0-9A-Z]{26}$"))
    artifacts = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=200)), load_default=list)


def _check_connector(conn: Any, tenant_id: str, params: dict[str, Any], part: str) -> None:
    """The connector is the tenant's and unchanged since the params were made, and the source or
    target fits its type: a job submitted by hand cannot borrow a connector's credentials for
    settings of its own."""
    ref = params["connector"]
    row = connectors_store.get_connector(conn, ref["id"], tenant_id)
    if row is None:
        raise ParamError("connector.id", f"no connector {ref['id']!r}")
    if manage.snapshot(row) != ref:
        raise ParamError(
            "connector",
            "does not match the connector's type and settings; use POST /v1/connectors/{id}/"
            + ("import" if part == "source" else "deliver"),
        )
    kind = manage.TYPES[row["type"]]
    schema = kind.source if part == "source" else kind.target
    if schema is None:
        raise ParamError(part, f"a {row['type']} connector is a source only")
    try:
        schema().load(params[part])
    except ma.ValidationError as exc:
        raise ParamError(part, str(exc.messages)) from exc


def _check_import(conn: Any, tenant_id: str, params: dict[str, Any], _datasets: list[dict[str, Any]]) -> None:
    _check_connector(conn, tenant_id, params, "source")


def _check_deliver(conn: Any, tenant_id: str, params: dict[str, Any], _datasets: list[dict[str, Any]]) -> None:
    _check_connector(conn, tenant_id, params, "target")
    job = jobs_store.get_job(conn, params["job_id"], tenant_id)
    if job is None:
        raise ParamError("job_id", f"no job {params['job_id']!r}")
    if job["status"] != "succeeded":
        raise ParamError("job_id", f"the job is {job['status']}; only a succeeded job's artifacts are delivered")
    names = {a["name"] for a in jobs_store.artifacts_of_job(conn, job["id"])}
    for index, name in enumerate(params["artifacts"]):
        if name not in names:
            raise ParamError(
                f"artifacts.{index}", f"the job has no artifact {name!r}; it has {', '.join(sorted(names))}"
            )


def _open(ctx: JobContext, cfg: Mapping[str, Any]) -> Any:
    conn = open_db(ctx.state_dir)
    ref = ctx.params["connector"]
    row = connectors_store.get_connector(conn, ref["id"], ctx.tenant_id)
    if row is None:
        raise JobFailed("NOT_FOUND", f"the connector {ref['id']} was deleted")
    if manage.snapshot(row) != ref:
        raise JobFailed("CONFLICT", "the connector's settings changed after the job was submitted; submit it again")
    try:
        return manage.open_connector(ctx.state_dir / "keys", environment(cfg), row)
    except AppError as exc:
        raise JobFailed(exc.code, exc.message) from exc
    except ConnectorError as exc:
        raise JobFailed("CONNECTOR_FAILED", f"{exc.diagnosis}: {exc.message}") from exc


def _write_json(ctx: JobContext, name: str, body: dict[str, Any]) -> None:
    out = ctx.work_dir / name
    out.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    ctx.add_artifact(out, name, "application/json")


def run_import(ctx: JobContext) -> None:
    from appliance.services.datasets import ingest
    from appliance.services.datasets.limits import Limits
    from appliance.services.datasets.naming import MEDIA_TYPES
    from appliance.services.datasets.streaming import STREAMED_FORMATS, ParquetStreamCheck, StreamCheck

    cfg = load_config(overrides={"server": {"state_dir": str(ctx.state_dir)}})
    max_bytes = int(cfg["datasets"]["max_upload_bytes"])
    limits = Limits.from_config(cfg)
    connector = _open(ctx, cfg)
    ctx.progress(0.0, message="connecting")
    try:
        stream = manage.guarded(connector.read, ctx.params["source"])
    except ConnectorError as exc:
        raise JobFailed("CONNECTOR_FAILED", f"{exc.diagnosis}: {exc.message}") from exc
    name = ctx.params.get("name") or f"import.{stream.format}"
    if format_of(name) != stream.format:
        name = f"{name}.{stream.format}"
    out = ctx.work_dir / Path(name).name
    # CSV and TSV are parsed as they arrive, and Parquet when its footer came first; JSON Lines
    # is checked after the read (see streaming.py)
    check: ArrivingCheck | None = None
    if stream.format in STREAMED_FORMATS:
        check = StreamCheck(stream.format, limits)
    elif stream.format == "parquet" and stream.tail is not None and stream.size_hint:
        check = ParquetStreamCheck(out, stream.size_hint, stream.tail, limits)
    try:
        b3, sha, size = _read_into(ctx, stream, out, max_bytes, check)
        ctx.check_cancel()
        ctx.progress(0.9, message=f"{size:,} bytes read; checking them as a dataset")
        try:
            dataset = ingest.ingest_hashed(
                open_db(ctx.state_dir),
                ctx.state_dir,
                ctx.tenant_id,
                out.name,
                stream.format,
                out,
                b3,
                source_job_id=ctx.job_id,
                limits=limits,
                checked=check,
            )
        except AppError as exc:
            raise JobFailed(exc.code, exc.message) from exc
    finally:
        if check is not None:
            check.close()
    ctx.add_artifact(out, out.name, MEDIA_TYPES[stream.format], hashed=(b3, sha))
    record = {
        "connector": ctx.params["connector"],
        "source": stream.description,
        "format": stream.format,
        "bytes": size,
        "blake3": b3,
        "sha256": sha,
        "dataset_id": dataset["id"],
        "rows": dataset["rows"],
    }
    _write_json(ctx, "import.json", record)
    ctx.set_result({k: record[k] for k in ("dataset_id", "rows", "bytes", "blake3", "sha256", "format")})
    ctx.progress(1.0, rows=dataset["rows"], message=f"dataset {dataset['id']}: {dataset['rows']:,} rows")


def _read_into(
    ctx: JobContext, stream: ReadStream, out: Path, max_bytes: int, check: ArrivingCheck | None
) -> tuple[str, str, int]:
    """Stream the source into ``out``, fsynced: the one pass over the bytes, which hashes them
    (BLAKE3 for the blob store, SHA-256 for the seal), feeds the parse, and checks cancel and the
    quota at every chunk. Returns (BLAKE3, SHA-256, size)."""
    b3, sha, size, shown = blake3.blake3(), hashlib.sha256(), 0, time.monotonic()
    try:
        with out.open("wb") as fh:
            for chunk in stream.chunks:
                ctx.check_cancel()
                size += len(chunk)
                if size > max_bytes:
                    raise JobFailed("PAYLOAD_TOO_LARGE", f"the source is larger than the quota of {max_bytes} bytes")
                fh.write(chunk)
                b3.update(chunk)
                sha.update(chunk)
                if check is not None:
                    if check.reads_file:
                        fh.flush()  # the check reads these bytes back from the file
                    check.feed(chunk)
                if time.monotonic() - shown >= 0.5:
                    shown = time.monotonic()
                    hint = stream.size_hint
                    ctx.progress(min(0.9, size / hint * 0.9) if hint else 0.5, message=f"{size:,} bytes read")
            fh.flush()
            os.fsync(fh.fileno())  # the file becomes the blob itself (linked, not copied)
    except ConnectorError as exc:
        raise JobFailed("CONNECTOR_FAILED", f"{exc.diagnosis}: {exc.message}") from exc
    finally:
        stream.close()
    return b3.hexdigest(), sha.hexdigest(), size


def run_deliver(ctx: JobContext) -> None:
    cfg = load_config(overrides={"server": {"state_dir": str(ctx.state_dir)}})
    connector = _open(ctx, cfg)
    conn = open_db(ctx.state_dir)
    wanted = ctx.params.get("artifacts") or []
    artifacts = [a for a in jobs_store.artifacts_of_job(conn, ctx.params["job_id"]) if a["tenant_id"] == ctx.tenant_id]
    if wanted:
        artifacts = [a for a in artifacts if a["name"] in wanted]
    store, written = BlobStore(ctx.state_dir), []
    for index, artifact in enumerate(artifacts):
        ctx.check_cancel()
        ctx.progress(index / max(1, len(artifacts)), message=f"writing {artifact['name']}")
        path = store.path(artifact["blake3"])
        sha = hashlib.sha256()
        for chunk in file_chunks(path):
            sha.update(chunk)
        try:
            fmt = format_of(artifact["name"]) or ""
            where = manage.guarded(connector.write, ctx.params["target"], artifact["name"], fmt, path)
        except ConnectorError as exc:
            raise JobFailed("CONNECTOR_FAILED", f"{exc.diagnosis}: {exc.message} ({artifact['name']})") from exc
        written.append(
            {
                "artifact_id": artifact["id"],
                "name": artifact["name"],
                "bytes": artifact["size"],
                "blake3": artifact["blake3"],
                "sha256": sha.hexdigest(),
                "written": where,
            }
        )
    record = {
        "connector": ctx.params["connector"],
        "target": ctx.params["target"],
        "job_id": ctx.params["job_id"],
        "delivered": written,
    }
    _write_json(ctx, "delivery.json", record)
    ctx.set_result({"delivered": len(written), "artifacts": [w["name"] for w in written]})
    ctx.progress(1.0, message=f"{len(written)} artifact(s) delivered")


IMPORT = Kind(
    name="connector_import",
    queue="default",
    summary="Stream a source of a connector (table, query, file, object) into a dataset, checked like an upload.",
    params_schema=ImportParams,
    estimate=lambda _params: Estimate(rows=0, seconds=10.0),
    run=run_import,
    check_inputs=_check_import,
    deterministic=False,
)

DELIVER = Kind(
    name="connector_deliver",
    queue="default",
    summary="Write a succeeded job's artifacts to a connector's destination (table, file, object).",
    params_schema=DeliverParams,
    estimate=lambda _params: Estimate(rows=0, seconds=10.0),
    run=run_deliver,
    check_inputs=_check_deliver,
    deterministic=False,
)
