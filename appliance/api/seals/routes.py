"""GET /v1/seals, /v1/seals/{id}, /v1/seals/checkpoint, /v1/seals/proof/consistency, and the log
as C2SP tlog-tiles under the prefix /v1/seals/log (`checkpoint`, `tile/<L>/<N>[.p/<W>]`).

Seals are the tenant's own; the checkpoint, consistency proofs and tiles are log-wide (the log is
shared by every tenant, and they reveal only hashes), so any caller with `read` gets them.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from appliance.api import context
from appliance.api.extensions import Blueprint, requires
from appliance.api.seals.schemas import (
    CheckpointArgsSchema,
    CheckpointSchema,
    ConsistencyArgsSchema,
    ConsistencyProofSchema,
    SealDetailSchema,
    SealListArgsSchema,
    SealPageSchema,
)
from appliance.evidence import operations, tiles

blp = Blueprint("seals", __name__, url_prefix="/v1/seals", description="The seal log of sealed results.")


@blp.route("")
@blp.arguments(SealListArgsSchema, location="query")
@blp.response(200, SealPageSchema)
@requires("read")
def list_seals(args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's seals, oldest first; `?job_id=` for one job's."""
    return operations.list_seals(
        context.get_db(), context.principal().tenant_id, args["job_id"], args["limit"], args["after"]
    )


@blp.route("/checkpoint")
@blp.arguments(CheckpointArgsSchema, location="query")
@blp.response(200, CheckpointSchema)
@requires("read")
def get_checkpoint(args: dict[str, Any]) -> Any:
    """The latest signed checkpoint. `?format=text` gives the signed note alone (text/plain):
    keep it, and later pass it to `sealforge-verify --prev-checkpoint`. 404 while the log is empty."""
    view = operations.checkpoint_view(context.get_db())
    if args["format"] == "text":
        return Response(view["note"], mimetype="text/plain")
    return view


@blp.route("/proof/consistency")
@blp.arguments(ConsistencyArgsSchema, location="query")
@blp.response(200, ConsistencyProofSchema)
@requires("read")
def get_consistency_proof(args: dict[str, Any]) -> dict[str, Any]:
    """Proof that the log at size `from` is a prefix of the log at size `to` (default: latest).

    Save the answer as a file and pass it to `sealforge-verify --consistency-proof FILE`."""
    return operations.consistency_proof(context.get_db(), args["from_size"], args["to_size"])


TILE_CACHE = "public, max-age=31536000, immutable"
"""A tile, full or partial, never changes once it exists (tlog-tiles: long-lived caching)."""
CHECKPOINT_CACHE = "no-cache"
"""The checkpoint moves with every seal; tlog-tiles asks that it not be cached beyond seconds."""


@blp.route("/log/checkpoint")
@blp.response(200, content_type="text/plain")
@requires("read")
def get_log_checkpoint() -> Response:
    """The latest signed checkpoint as C2SP tlog-tiles serves it: the signed note with the
    witnesses' stored cosignatures, `text/plain; charset=utf-8`. 404 while the log is empty."""
    note = operations.checkpoint_view(context.get_db())["note"]
    return Response(note, content_type="text/plain; charset=utf-8", headers={"Cache-Control": CHECKPOINT_CACHE})


@blp.route("/log/tile/<path:tile>")
@blp.response(200, content_type="application/octet-stream")
@requires("read")
def get_log_tile(tile: str) -> Response:
    """A C2SP tlog-tiles tile: `<L>/<N>` (256 hashes of 32 bytes) or the partial `<L>/<N>.p/<W>`,
    with `N` in 3-digit elements (`x001/x234/067`). Level 0 holds leaf hashes, level `l` the roots of
    full tiles of level `l-1`; the tree is SHA-256 as RFC 6962 (or BLAKE3 for a log created before,
    as its checkpoint says). 400 for a malformed path, 404 for a tile the latest checkpoint does not
    need; entry bundles (`tile/entries/...`) are not served (envelopes belong to their tenants)."""
    data = tiles.serve_tile(context.get_db(), tile)
    return Response(data, content_type="application/octet-stream", headers={"Cache-Control": TILE_CACHE})


@blp.route("/<string:seal_id>")
@blp.response(200, SealDetailSchema)
@requires("read")
def get_seal(seal_id: str) -> dict[str, Any]:
    """One seal, with its DSSE envelope."""
    return operations.get_seal(context.get_db(), context.principal().tenant_id, seal_id)
