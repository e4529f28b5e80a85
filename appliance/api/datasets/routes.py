"""POST /v1/datasets (and /v1/datasets/upload), GET list/one, preview, profile, DELETE."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import IO, Any

from flask import g, jsonify, make_response, request

from appliance import errors
from appliance.api import context
from appliance.api.datasets.schemas import (
    DatasetPageSchema,
    DatasetSchema,
    PreviewArgsSchema,
    PreviewSchema,
    ProfileSchema,
    UploadArgsSchema,
)
from appliance.api.extensions import Blueprint, PageArgsSchema, accepts_body, requires
from appliance.api.jobs.schemas import JobSchema
from appliance.jobs import operations
from appliance.services.datasets import cached, ingest, preview
from appliance.services.datasets.limits import Limits
from appliance.services.datasets.naming import declared_format

blp = Blueprint("datasets", __name__, url_prefix="/v1/datasets", description="Uploaded tables.")
CHUNK = 1 << 20


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


@blp.route("", methods=["POST"])
@blp.route("/upload", methods=["POST"], endpoint="upload_dataset_alias")
@blp.arguments(UploadArgsSchema, location="query")
@blp.response(201, DatasetSchema)
@blp.doc(
    description="Send the file as the raw body (name it with `?name=`; the format comes from `?format=`, "
    "the name's extension or the Content-Type) or as multipart field `file`. "
    "CSV, TSV, Parquet or JSON Lines; streamed, so size is limited by the quota and, once decoded, by the "
    "`[datasets]` limits (decoded table, cell, row, Parquet pages, columns: 413 `UPLOAD_LIMIT_EXCEEDED`; "
    "nesting depth: 400 `NESTING_TOO_DEEP`)."
)
@accepts_body("raw")
@requires("generate")
def upload_dataset(args: dict[str, Any]) -> dict[str, Any]:
    """Upload a dataset."""
    limit = int(context.config()["datasets"]["max_upload_bytes"])
    if request.content_length is not None and request.content_length > limit + 1_000_000:
        raise errors.AppError(errors.PAYLOAD_TOO_LARGE, f"the upload is larger than the quota of {limit} bytes")
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise errors.validation("file", "a multipart upload needs a `file` field")
        name = args["name"] or upload.filename or ""
        content_type, stream = upload.mimetype or "", upload.stream
    else:
        name, content_type, stream = args["name"], request.mimetype or "", request.stream
    fmt = declared_format(name, content_type, args["format"])
    who = context.principal()
    dataset = ingest.ingest(
        context.get_db(),
        context.state_dir(),
        who.tenant_id,
        name,
        fmt,
        _chunks(stream),
        limit,
        limits=Limits.from_config(context.config()),
    )
    g.body_blake3 = dataset["blake3"]
    return dataset


@blp.route("")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, DatasetPageSchema)
@requires("read")
def list_datasets(args: dict[str, Any]) -> dict[str, Any]:
    return ingest.listing(context.get_db(), context.principal().tenant_id, args["limit"], args["after"])


@blp.route("/<string:dataset_id>")
@blp.response(200, DatasetSchema)
@requires("read")
def get_dataset(dataset_id: str) -> dict[str, Any]:
    return ingest.view(ingest.require(context.get_db(), context.principal().tenant_id, dataset_id))


@blp.route("/<string:dataset_id>", methods=["DELETE"])
@blp.response(204)
@requires("generate")
def delete_dataset(dataset_id: str) -> None:
    """Delete a dataset (409 while a queued or running job uses it)."""
    ingest.delete(context.get_db(), context.state_dir(), context.principal().tenant_id, dataset_id)


@blp.route("/<string:dataset_id>/preview")
@blp.arguments(PreviewArgsSchema, location="query")
@blp.response(200, PreviewSchema)
@requires("read")
def preview_dataset(args: dict[str, Any], dataset_id: str) -> dict[str, Any]:
    """The first rows (at most 1,000, and at most `[datasets] max_answer_bytes` of JSON), as JSON.
    `truncated` says when the byte cap cut the answer short."""
    row = ingest.require(context.get_db(), context.principal().tenant_id, dataset_id)
    return preview.head(context.state_dir(), row, args["rows"], Limits.from_config(context.config()))


@blp.route("/<string:dataset_id>/profile")
@blp.response(200, ProfileSchema)
@blp.alt_response(
    202,
    schema=JobSchema,
    description="No profile yet: the analyze job computing it. Call the `Location` URL (this same URL) again "
    "after `Retry-After` seconds; it answers 200 with the profile once the job has succeeded.",
    headers={
        "Location": {"description": "The profile URL to call again", "schema": {"type": "string"}},
        "Retry-After": {"description": "Seconds to wait before calling again", "schema": {"type": "integer"}},
        "X-Job-Id": {"description": "The analyze job computing the profile", "schema": {"type": "string"}},
    },
)
@requires("read")
def profile_dataset(dataset_id: str) -> Any:
    """Types, nulls, distinct counts, ranges, quantiles, top values and semantic types of every column,
    plus an inferred mock schema. Computed once by an `analyze` job, then served from its artifact, cut to
    `[datasets] max_answer_bytes` of JSON (`truncated` says so).

    The first call (and every call while the job runs) answers **202** with the analyze job as the body,
    `Location:` this profile URL and `Retry-After:` seconds to wait: call `Location` again until it answers
    200 (or follow the job's `_links.stream` events). A 202 is not an error and starts no second job."""
    conn = context.get_db()
    who = context.principal()
    ingest.require(conn, who.tenant_id, dataset_id)

    max_bytes = Limits.from_config(context.config()).max_answer_bytes
    profile, pending = cached.profile_or_pending(conn, context.state_dir(), who.tenant_id, dataset_id, max_bytes)
    if profile is not None:
        return profile
    if pending is not None:
        job = operations.view(pending)
    else:
        body = {"kind": "analyze", "inputs": [dataset_id], "params": {}}
        max_attempts = int(context.config()["jobs"]["max_attempts"])
        job = operations.submit(conn, context.state_dir(), who.tenant_id, who.caller, body, max_attempts)
    # the job, not a profile: bypass the 200 schema. Location is the URL that was called (the alias
    # under /v1/client/ included), since that is what answers with the profile once it exists.
    headers = {"X-Job-Id": job["id"], "Location": request.path, "Retry-After": str(_retry_after(job))}
    return make_response(jsonify(job), 202, headers)


def _retry_after(job: dict[str, Any]) -> int:
    """Seconds until the profile is worth asking for again: the job's estimate, within 1..10 s, so a
    polling client neither hammers the API nor waits long past a profile that is already there."""
    seconds = (job.get("estimate") or {}).get("seconds") or 1
    return max(1, min(10, math.ceil(float(seconds))))
