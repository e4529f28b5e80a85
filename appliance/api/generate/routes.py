"""POST /v1/preview, POST /v1/mock-data and POST /v1/fabricate/plan."""

from __future__ import annotations

from typing import Any

from appliance import errors
from appliance.api import context
from appliance.api.extensions import Blueprint, requires
from appliance.api.generate.schemas import (
    MockDataInSchema,
    MockDataOutSchema,
    PlanInSchema,
    PlanSchema,
    PreviewInSchema,
    PreviewOutSchema,
)
from appliance.services import mock_datasets

blp = Blueprint("generate", __name__, url_prefix="/v1", description="Previews, small mock datasets, plans.")


@blp.route("/preview", methods=["POST"])
@blp.arguments(PreviewInSchema)
@blp.response(200, PreviewOutSchema)
@requires("read")
def preview(body: dict[str, Any]) -> dict[str, Any]:
    """Sample rows for a schema (at most 1,000); nothing is stored or charged.

    They are exactly the first rows a `mock` job with the same schema and seed writes."""
    return mock_datasets.sample(body["schema"], body["rows"], body["seed"])


@blp.route("/mock-data", methods=["POST"])
@blp.arguments(MockDataInSchema)
@blp.response(201, MockDataOutSchema)
@requires("generate")
def mock_data(body: dict[str, Any]) -> dict[str, Any]:
    """Generate up to 100,000 rows now and store each table as a dataset."""
    who = context.principal()
    limit = int(context.config()["datasets"]["max_upload_bytes"])
    return mock_datasets.create(
        context.get_db(),
        context.state_dir(),
        who.tenant_id,
        body["schema"],
        body["seed"],
        body["format"],
        body["name"],
        limit,
    )


@blp.route("/fabricate/plan", methods=["POST"])
@blp.arguments(PlanInSchema)
@blp.response(200, PlanSchema)
@requires("read")
def fabricate_plan(body: dict[str, Any]) -> dict[str, Any]:
    """Turn a plain-English description into a schema plan to inspect, edit, and pass to a
    `fabricate` job (params.plan). Rule-based and offline; unknown words are listed in `warnings`."""
    from appliance.services.fabricate import plan_from_description

    try:
        return plan_from_description(body["description"], body["seed"])
    except ValueError as exc:
        raise errors.validation("description", str(exc)) from exc
