"""GET /v1/models and /v1/models/{id}: the models `train` jobs made (another tenant's: 404)."""

from __future__ import annotations

from typing import Any

from appliance.api import context
from appliance.api.extensions import Blueprint, requires
from appliance.api.models.schemas import ModelListArgsSchema, ModelPageSchema, ModelSchema
from appliance.services.synth import records

blp = Blueprint("models", __name__, url_prefix="/v1/models", description="Trained generative models.")


@blp.route("")
@blp.arguments(ModelListArgsSchema, location="query")
@blp.response(200, ModelPageSchema)
@requires("read")
def list_models(args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's models, oldest first; `?dataset_id=` for those trained on one dataset."""
    tenant_id = context.principal().tenant_id
    return records.listing(context.get_db(), tenant_id, args["dataset_id"], args["limit"], args["after"])


@blp.route("/<string:model_id>")
@blp.response(200, ModelSchema)
@requires("read")
def get_model(model_id: str) -> dict[str, Any]:
    conn = context.get_db()
    return records.view(conn, records.require(conn, context.principal().tenant_id, model_id))
