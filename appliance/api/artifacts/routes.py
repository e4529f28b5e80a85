"""GET /v1/artifacts, /v1/artifacts/{id}, /v1/artifacts/{id}/download (Range, ETag = BLAKE3)."""

from __future__ import annotations

from typing import Any

from flask import Response, send_file
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from appliance import errors
from appliance.api import context
from appliance.api.artifacts.schemas import ArtifactListArgsSchema, ArtifactPageSchema, ArtifactSchema
from appliance.api.extensions import Blueprint, requires
from appliance.services import artifacts

blp = Blueprint("artifacts", __name__, url_prefix="/v1/artifacts", description="Job outputs.")


@blp.route("")
@blp.arguments(ArtifactListArgsSchema, location="query")
@blp.response(200, ArtifactPageSchema)
@requires("read")
def list_artifacts(args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's artifacts, oldest first; `?job_id=` for one job's."""
    tenant_id = context.principal().tenant_id
    return artifacts.listing(context.get_db(), tenant_id, args["job_id"], args["limit"], args["after"])


@blp.route("/<string:artifact_id>")
@blp.response(200, ArtifactSchema)
@requires("read")
def get_artifact(artifact_id: str) -> dict[str, Any]:
    return artifacts.view(artifacts.require(context.get_db(), context.principal().tenant_id, artifact_id))


@blp.route("/<string:artifact_id>/download")
@blp.response(200, content_type="application/octet-stream")
@requires("read")
def download_artifact(artifact_id: str) -> Response:
    """The bytes; supports `Range`, and `If-None-Match` against the ETag (the BLAKE3)."""
    row = artifacts.require(context.get_db(), context.principal().tenant_id, artifact_id)
    path = artifacts.blob_path(context.state_dir(), artifact_id, row)
    try:  # conditional=True answers Range (206, with If-Range against the ETag) and If-None-Match
        response = send_file(
            path,
            mimetype=row["media_type"],
            as_attachment=True,
            download_name=row["name"],
            conditional=True,
            etag=row["blake3"],
            max_age=0,
        )
    except RequestedRangeNotSatisfiable as exc:  # a 416 with the size, not the generic 400 it would become
        size = path.stat().st_size
        raise errors.AppError(errors.RANGE_NOT_SATISFIABLE, headers={"Content-Range": f"bytes */{size}"}) from exc
    response.headers["X-Content-Blake3"] = row["blake3"]
    return response
