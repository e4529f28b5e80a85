"""GET/POST /v1/seals/witnesses, DELETE /v1/seals/witnesses/{key_id} and POST /v1/seals/cosignatures.

The seal log is the appliance's, not a tenant's: registering a witness (whose cosignatures the
appliance will then serve to every tenant) takes the `operator` scope, and so does removing one.
Sending back a cosignature takes `admin`: it is checked against the registered keys and the issued
checkpoint before it is stored, so the sender is only a courier. The list of witnesses is public
to `read`.
"""

from __future__ import annotations

from typing import Any

from appliance.api import context
from appliance.api.extensions import Blueprint, requires
from appliance.api.witnesses.schemas import (
    CosignatureResultSchema,
    CosignatureSubmitSchema,
    WitnessCreateSchema,
    WitnessListSchema,
    WitnessRemovedSchema,
    WitnessSchema,
)
from appliance.evidence import witnessing

blp = Blueprint(
    "witnesses", __name__, url_prefix="/v1/seals", description="Witnesses of the seal log and their cosignatures."
)


@blp.route("/witnesses")
@blp.response(200, WitnessListSchema)
@requires("read")
def list_witnesses() -> dict[str, Any]:
    """The witnesses whose cosignatures the appliance accepts and serves."""
    return witnessing.list_witnesses(context.get_db())


@blp.route("/witnesses", methods=["POST"])
@blp.arguments(WitnessCreateSchema)
@blp.response(201, WitnessSchema)
@requires("operator")
def register_witness(body: dict[str, Any]) -> dict[str, Any]:
    """Register a witness's cosigner key (from `sealforge-verify witness keygen`). 409 if known."""
    return witnessing.register_witness(context.get_db(), body["verifier_key"], body["description"])


@blp.route("/witnesses/<path:key_id>", methods=["DELETE"])
@blp.response(200, WitnessRemovedSchema)
@requires("operator")
def remove_witness(key_id: str) -> dict[str, Any]:
    """Remove a witness (`key_id` as listed, `name+keyid`; a `/` in the name may stay as is).

    Its cosignatures stop being accepted and served, and the stored ones are deleted; bundles
    already downloaded keep them and still verify offline. 404 for a witness not registered."""
    return witnessing.remove_witness(context.get_db(), key_id)


@blp.route("/cosignatures", methods=["POST"])
@blp.arguments(CosignatureSubmitSchema)
@blp.response(201, CosignatureResultSchema)
@requires("admin")
def submit_cosignatures(body: dict[str, Any]) -> dict[str, Any]:
    """Send back a checkpoint a registered witness cosigned (`sealforge-verify witness cosign`).

    The note's body must be the checkpoint this appliance issued at that size; each registered
    witness's cosignature must verify (else 400, nothing stored). From then on the checkpoint
    endpoint and bundles carry it as an extra signature line."""
    return witnessing.submit_cosignatures(context.get_db(), body["note"], body["tree_size"], body["cosignatures"])
