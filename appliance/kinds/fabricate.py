"""The `fabricate` kind: a plain-English description → a schema plan → mock rows.

The same planned form as a `mock` job with a description (``appliance.kinds.mock`` owns the
planning and the run; this kind only keeps its older name and its required ``description``). The
plan is made at submit (rule-based, offline) unless the user sends an edited one, and it is stored
in the params, so the contract seals exactly the schema that produced the rows.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from appliance.kinds import mock
from appliance.kinds.base import Estimate, JobContext, Kind


class FabricateParams(ma.Schema):
    description = ma.fields.String(required=True, validate=ma.validate.Length(min=3, max=2000))
    rows = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=1, max=mock.MAX_PLAN_ROWS),
        metadata={"description": "The row count of every table with a fixed count"},
    )
    plan = ma.fields.Dict(
        load_default=None,
        allow_none=True,
        metadata={"description": "A plan from POST /v1/fabricate/plan, edited if you like"},
    )
    format = ma.fields.String(load_default="parquet", validate=ma.validate.OneOf(mock.MOCK_FORMATS))


def prepare(params: dict[str, Any], seed: int) -> dict[str, Any]:
    planned = mock.plan_params(params, seed)
    if planned.get("rows") is None:  # a contract without rows reads as it always did
        planned.pop("rows")
    return planned


def estimate(params: dict[str, Any]) -> Estimate:
    return mock.estimate(params)


def run(ctx: JobContext) -> None:
    mock.run_plan(ctx, ctx.params["plan"], ctx.params["format"])


KIND = Kind(
    name="fabricate",
    queue="default",
    summary="A sealed contract from plain English, then mock rows.",
    params_schema=FabricateParams,
    estimate=estimate,
    run=run,
    prepare=prepare,
    interactive=True,
)
