"""GET/POST /v1/keys, GET/DELETE /v1/keys/{key_id}: admin scope."""

from __future__ import annotations

from typing import Any

from appliance.api import context
from appliance.api.extensions import Blueprint, PageArgsSchema, requires
from appliance.api.keys.schemas import KeyCreatedSchema, KeyCreateSchema, KeyPageSchema, KeySchema
from appliance.services import identity

blp = Blueprint("keys", __name__, url_prefix="/v1/keys", description="API keys of your tenant.")


@blp.route("")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, KeyPageSchema)
@requires("admin")
def list_keys(args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's keys, oldest first."""
    return identity.key_listing(context.get_db(), context.principal().tenant_id, args["limit"], args["after"])


@blp.route("", methods=["POST"])
@blp.arguments(KeyCreateSchema)
@blp.response(201, KeyCreatedSchema)
@requires("admin")
def create_key(body: dict[str, Any]) -> dict[str, Any]:
    """A new key for the tenant; its plaintext is in this answer only."""
    return identity.create_key(context.get_db(), context.principal().tenant_id, body["scopes"], body["name"])


@blp.route("/<string:key_id>")
@blp.response(200, KeySchema)
@requires("admin")
def get_key(key_id: str) -> dict[str, Any]:
    return identity.get_key(context.get_db(), context.principal().tenant_id, key_id)


@blp.route("/<string:key_id>", methods=["DELETE"])
@blp.response(200, KeySchema)
@requires("admin")
def revoke_key(key_id: str) -> dict[str, Any]:
    """Revoke a key; it stops working at once and stays listed with `revoked_at`."""
    return identity.revoke_key(context.get_db(), context.principal().tenant_id, key_id)
