"""GET /v1/fits/compare?a=<fit job>&b=<fit job>: per-column distances between two datasets' fits."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from appliance.api import context
from appliance.api.extensions import Blueprint, requires
from appliance.services.datasets import cached

blp = Blueprint("fits", __name__, url_prefix="/v1/fits", description="Compare summary statistics.")


class CompareArgsSchema(ma.Schema):
    a = ma.fields.String(required=True, validate=ma.validate.Length(max=64))
    b = ma.fields.String(required=True, validate=ma.validate.Length(max=64))


class ComparisonSchema(ma.Schema):
    a = ma.fields.String()
    b = ma.fields.String()
    comparison = ma.fields.Dict()


@blp.route("/compare")
@blp.arguments(CompareArgsSchema, location="query")
@blp.response(200, ComparisonSchema)
@requires("read")
def compare(args: dict[str, Any]) -> dict[str, Any]:
    """KS statistic for numeric columns, total variation distance for categories, and the gap
    between the correlation matrices of two succeeded `fit` jobs."""
    from appliance.services.mock import compare_fits

    conn, who = context.get_db(), context.principal()
    a = cached.fit_of(conn, context.state_dir(), who.tenant_id, args["a"], "a")
    b = cached.fit_of(conn, context.state_dir(), who.tenant_id, args["b"], "b")
    return {"a": args["a"], "b": args["b"], "comparison": compare_fits(a, b)}
