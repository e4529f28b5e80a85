"""GET /v1/evidence/{job_id} (the bundle .tar) and GET /v1/keys/signing (the public signing keys).

`/v1/keys/signing` is a static path, which werkzeug matches before the API-key route
`/v1/keys/<key_id>`; it lives here because it belongs with the evidence it verifies.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from appliance.api import context
from appliance.api.evidence.schemas import EvidenceArgsSchema, SigningKeyListSchema
from appliance.api.extensions import Blueprint, requires
from appliance.evidence import keys, operations

blp = Blueprint("evidence", __name__, url_prefix="/v1", description="Evidence bundles and their signing keys.")


@blp.route("/evidence/<string:job_id>")
@blp.arguments(EvidenceArgsSchema, location="query")
@blp.response(200, content_type="application/x-tar")
@requires("read")
def get_evidence(args: dict[str, Any], job_id: str) -> Response:
    """The job's evidence bundle (.tar) for `sealforge-verify`. Streamed, never built in memory.

    404 for an unknown job (or another tenant's), 409 for a job that has not succeeded.
    `include_artifacts=true` embeds the artifacts; `prev_size=N` adds a consistency proof from N;
    `witnessed=true` proves the seal against the newest checkpoint witnesses cosigned."""
    bundle = operations.evidence_bundle(
        context.get_db(),
        context.state_dir(),
        context.principal().tenant_id,
        job_id,
        include_artifacts=args["include_artifacts"],
        prev_size=args["prev_size"],
        witnessed=args["witnessed"],
    )
    stream = bundle.stream()
    return Response(
        iter(stream),
        mimetype="application/x-tar",
        headers={
            "Content-Length": str(stream.size),
            "Content-Disposition": f'attachment; filename="{bundle.filename}"',
            "X-Seal-Id": bundle.seal_id,
            "X-Tree-Size": str(bundle.tree_size),
            "Cache-Control": "no-store",
        },
        direct_passthrough=True,
    )


@blp.route("/keys/signing")
@blp.response(200, SigningKeyListSchema)
@requires("read")
def list_signing_keys() -> dict[str, Any]:
    """Every key the appliance has sealed with (retired ones too, so old bundles still verify),
    and `trust_file`: the same keys as a trust file for `sealforge-verify --trust`."""
    conn = context.get_db()
    data = keys.list_public(conn)
    return {"data": data, "count": len(data), "trust_file": keys.trust_file(conn)}
