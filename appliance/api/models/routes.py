"""GET /v1/models and /v1/models/{id}: the models `train` jobs made (another tenant's: 404)."""

from __future__ import annotations

from typing import Any

from appliance.api import context
from appliance.api.extensions import Blueprint, requires
from appliance.api.models.schemas import ModelListArgsSchema, ModelPageSchema, ModelSchema
from appliance.services.synth import records
from appliance.store import models as q

blp = Blueprint("models", __name__, url_prefix="/v1/models", description="Trained generative models.")


@blp.route("")
@blp.arguments(ModelListArgsSchema, location="query")
@blp.response(200, ModelPageSchema)
@requires("read")
def list_models(args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's models, oldest first; `?dataset_id=` for those trained on one dataset."""
    conn = context.get_db()
    rows, has_more = q.model_page(conn, context.principal().tenant_id, args["dataset_id"], args["limit"], args["after"])
    data = [records.view(conn, r) for r in rows]
    return {"data": data, "count": len(data), "has_more": has_more, "next_after": data[-1]["id"] if has_more else None}


@blp.route("/<string:model_id>")
@blp.response(200, ModelSchema)
@requires("read")
def get_model(model_id: str) -> dict[str, Any]:
    conn = context.get_db()
    return records.view(conn, records.require(conn, context.principal().tenant_id, model_id))
