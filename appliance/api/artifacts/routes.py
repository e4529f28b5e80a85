"""GET /v1/artifacts, /v1/artifacts/{id}, /v1/artifacts/{id}/download (Range, ETag = BLAKE3)."""

from __future__ import annotations

from typing import Any

from flask import Response, send_file

from appliance import errors
from appliance.api import context
from appliance.api.artifacts.schemas import ArtifactListArgsSchema, ArtifactPageSchema, ArtifactSchema
from appliance.api.extensions import Blueprint, requires
from appliance.store import jobs as q
from appliance.store.blobs import BlobStore
from appliance.store.pages import page

blp = Blueprint("artifacts", __name__, url_prefix="/v1/artifacts", description="Job outputs.")


def _view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: row[k] for k in ("id", "job_id", "name", "media_type", "size", "blake3", "created_at")},
        "_links": {"self": f"/v1/artifacts/{row['id']}", "download": f"/v1/artifacts/{row['id']}/download"},
    }


def _artifact(artifact_id: str) -> dict[str, Any]:
    row = q.artifact(context.get_db(), artifact_id, context.principal().tenant_id)
    if row is None:
        raise errors.not_found("artifact", artifact_id)
    return row


@blp.route("")
@blp.arguments(ArtifactListArgsSchema, location="query")
@blp.response(200, ArtifactPageSchema)
@requires("read")
def list_artifacts(args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's artifacts, oldest first; `?job_id=` for one job's."""
    where = {"tenant_id": context.principal().tenant_id, "job_id": args["job_id"]}
    return page(context.get_db(), "artifacts", where, limit=args["limit"], after=args["after"]).listing(_view)


@blp.route("/<string:artifact_id>")
@blp.response(200, ArtifactSchema)
@requires("read")
def get_artifact(artifact_id: str) -> dict[str, Any]:
    return _view(_artifact(artifact_id))


@blp.route("/<string:artifact_id>/download")
@blp.response(200, content_type="application/octet-stream")
@requires("read")
def download_artifact(artifact_id: str) -> Response:
    """The bytes; supports `Range`, and `If-None-Match` against the ETag (the BLAKE3)."""
    row = _artifact(artifact_id)
    path = BlobStore(context.state_dir()).path(row["blake3"])
    if not path.exists():
        raise errors.AppError(
            errors.UNAVAILABLE,
            f"the blob of {artifact_id} is missing from the store",
            hint="Run a `verify` job on it and tell your administrator.",
        )
    response = send_file(
        path,
        mimetype=row["media_type"],
        as_attachment=True,
        download_name=row["name"],
        conditional=True,
        etag=row["blake3"],
        max_age=0,
    )
    response.headers["X-Content-Blake3"] = row["blake3"]
    return response
