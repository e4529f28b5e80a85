"""POST/GET /v1/estimate, GET /v1/usage, GET /v1/billing, GET /v1/billing/balance, POST /v1/billing/topup."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma

from appliance import errors
from appliance.api import context, jsondepth
from appliance.api.billing.schemas import (
    BalanceSchema,
    BillingSchema,
    EstimateInSchema,
    EstimateQuerySchema,
    EstimateSchema,
    TopUpSchema,
    UsageArgsSchema,
    UsagePageSchema,
)
from appliance.api.extensions import Blueprint, requires
from appliance.jobs import operations
from appliance.services import credits

blp = Blueprint("billing", __name__, url_prefix="/v1", description="Credits: 1 credit = 1,000,000 generated rows.")


def _estimate(body: dict[str, Any]) -> dict[str, Any]:
    who = context.principal()
    max_rows = int(context.config()["jobs"]["interactive_max_rows"])
    return operations.estimate_body(context.get_db(), who.tenant_id, body, max_rows)


@blp.route("/estimate", methods=["POST"])
@blp.arguments(EstimateInSchema)
@blp.response(200, EstimateSchema)
@requires("read")
def estimate(body: dict[str, Any]) -> dict[str, Any]:
    """What a job would cost, before it runs: the body a submit takes, e.g. `{"rows": 1000000,
    "kind": "synthesize"}` or `{"kind": "mock", "params": {"schema": …}}`."""
    return _estimate(body)


@blp.route("/estimate")
@blp.arguments(EstimateQuerySchema, location="query", unknown=ma.RAISE)
@blp.response(200, EstimateSchema)
@requires("read")
def estimate_get(args: dict[str, Any]) -> dict[str, Any]:
    """The same as POST, as query parameters (`?rows=1000000&kind=synthesize`); `params` is a JSON object."""
    raw = args.pop("params")
    jsondepth.check(raw, int(context.config()["server"]["max_json_depth"]), "params")
    try:
        params = json.loads(raw)
    except ValueError as exc:
        raise errors.validation("params", "not valid JSON") from exc
    if not isinstance(params, dict):
        raise errors.validation("params", "must be a JSON object")
    return _estimate({**args, "params": params})


@blp.route("/usage")
@blp.arguments(UsageArgsSchema, location="query")
@blp.response(200, UsagePageSchema)
@requires("read")
def usage(args: dict[str, Any]) -> dict[str, Any]:
    """Credit usage history: one page of charges, oldest first (per job: kind, rows, credits,
    finish time), beside the tenant's totals by kind (`by_kind`, `total_credits`, `balance`)."""
    tenant_id = context.principal().tenant_id
    return credits.usage_history(context.get_db(), tenant_id, args["limit"], args["after"])


@blp.route("/billing")
@blp.response(200, BillingSchema)
@requires("read")
def billing() -> dict[str, Any]:
    """Subscription info and credit balance: the plan (the tenant's tier), the balance, and the
    usage of the current billing period (the calendar month, UTC)."""
    return credits.billing(context.get_db(), context.principal().tenant_id, datetime.now(UTC))


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
