"""The `fabricate` kind: a plain-English description → a schema plan → mock rows.

The plan is made at submit (rule-based, offline) unless the user sends an edited one, and it is
stored in the params, so the contract seals exactly the schema that produced the rows.
"""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma

from appliance.kinds import mock
from appliance.kinds.base import Estimate, JobContext, Kind, ParamError


class FabricateParams(ma.Schema):
    description = ma.fields.String(required=True, validate=ma.validate.Length(min=3, max=2000))
    plan = ma.fields.Dict(
        load_default=None,
        allow_none=True,
        metadata={"description": "A plan from POST /v1/fabricate/plan, edited if you like"},
    )
    format = ma.fields.String(load_default="parquet", validate=ma.validate.OneOf(mock.MOCK_FORMATS))


def prepare(params: dict[str, Any], seed: int) -> dict[str, Any]:
    from appliance.services.fabricate import plan_from_description

    plan = params.get("plan") or plan_from_description(params["description"], seed)
    if not isinstance(plan.get("schema"), dict):
        raise ParamError("plan.schema", "a plan needs a `schema` object")
    try:
        mock.check({"schema": plan["schema"]})
    except ParamError as exc:
        raise ParamError(f"plan.{exc.field}", exc.message) from exc
    return {**params, "plan": plan}


def estimate(params: dict[str, Any]) -> Estimate:
    return mock.estimate({"schema": params["plan"]["schema"]})


def run(ctx: JobContext) -> None:
    plan = ctx.params["plan"]
    (ctx.work_dir / "plan.json").write_text(json.dumps(plan, indent=2, sort_keys=True) + "\n")
    ctx.add_artifact(ctx.work_dir / "plan.json", "plan.json", "application/json")
    rows = mock.write_tables(ctx, plan["schema"], ctx.params["format"])
    ctx.set_result({"rows": rows, "tables": len(plan["schema"]["tables"]), "warnings": plan.get("warnings", [])})
    ctx.progress(1.0, rows=rows, message="done")


KIND = Kind(
    name="fabricate",
    queue="default",
    summary="A sealed contract from plain English, then mock rows.",
    params_schema=FabricateParams,
    estimate=estimate,
    run=run,
    prepare=prepare,
)
