"""GET /v1/seals, /v1/seals/{id}, /v1/seals/checkpoint and /v1/seals/proof/consistency.

Seals are the tenant's own; the checkpoint and consistency proofs are log-wide (the log is shared
by every tenant, and they reveal only hashes), so any caller with `read` gets them.
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
from appliance.evidence import operations

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


@blp.route("/<string:seal_id>")
@blp.response(200, SealDetailSchema)
@requires("read")
def get_seal(seal_id: str) -> dict[str, Any]:
    """One seal, with its DSSE envelope."""
    return operations.get_seal(context.get_db(), context.principal().tenant_id, seal_id)
