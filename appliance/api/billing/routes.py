"""POST/GET /v1/estimate, GET /v1/usage, GET /v1/billing/balance, POST /v1/billing/topup."""

from __future__ import annotations

import json
from typing import Any

from appliance import errors
from appliance.api import context, jsondepth
from appliance.api.billing.schemas import (
    BalanceSchema,
    EstimateInSchema,
    EstimateQuerySchema,
    EstimateSchema,
    TopUpSchema,
    UsageSchema,
)
from appliance.api.extensions import Blueprint, requires
from appliance.jobs import operations
from appliance.services import credits

blp = Blueprint("billing", __name__, url_prefix="/v1", description="Credits: 1 credit = 1,000,000 generated rows.")


@blp.route("/estimate", methods=["POST"])
@blp.arguments(EstimateInSchema)
@blp.response(200, EstimateSchema)
@requires("read")
def estimate(body: dict[str, Any]) -> dict[str, Any]:
    """What a job would cost, before it runs."""
    return operations.estimate(body["kind"], body["params"])


@blp.route("/estimate")
@blp.arguments(EstimateQuerySchema, location="query")
@blp.response(200, EstimateSchema)
@requires("read")
def estimate_get(args: dict[str, Any]) -> dict[str, Any]:
    """The same as POST, with `params` as a JSON object in the query string."""
    jsondepth.check(args["params"], int(context.config()["server"]["max_json_depth"]), "params")
    try:
        params = json.loads(args["params"])
    except ValueError as exc:
        raise errors.validation("params", "not valid JSON") from exc
    if not isinstance(params, dict):
        raise errors.validation("params", "must be a JSON object")
    return operations.estimate(args["kind"], params)


@blp.route("/usage")
@blp.response(200, UsageSchema)
@requires("read")
def usage() -> dict[str, Any]:
    """Credits spent by succeeded jobs, by kind."""
    return credits.usage(context.get_db(), context.principal().tenant_id)


@blp.route("/billing/balance")
@blp.response(200, BalanceSchema)
@requires("read")
def balance() -> dict[str, Any]:
    return credits.balance(context.get_db(), context.principal().tenant_id)


@blp.route("/billing/topup", methods=["POST"])
@blp.arguments(TopUpSchema)
@blp.response(200, BalanceSchema)
@requires("operator")
def top_up(body: dict[str, Any]) -> dict[str, Any]:
    """Add credits to the key's tenant. Credits are the appliance operator's to grant: this needs
    the `operator` scope, which only `sealforge admin keys create --scopes operator` can give."""
    return credits.top_up(context.get_db(), context.principal().tenant_id, body["credits"], body["note"])
