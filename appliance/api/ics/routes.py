"""POST /v1/ics/scenarios and GET /v1/ics/scenarios/{id}: a `scenario_fabricate` job and its
manifest, under the names the published client uses."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from appliance import errors
from appliance.api import context
from appliance.api.extensions import Blueprint, requires
from appliance.api.jobs.schemas import JobSchema
from appliance.jobs import operations
from appliance.services.datasets import cached

# simulators.profiles.PROFILES, named here so the API's import stays free of numpy (a test keeps them equal)
DATASET_PROFILES = ("native", "swat", "hai")

blp = Blueprint("ics", __name__, url_prefix="/v1/ics", description="SCADA/ICS scenario packs.")


class ScenarioInSchema(ma.Schema):
    """The scenario_fabricate params (plant, duration, mix, intensity, sample_rate, …) plus the seed."""

    class Meta:
        unknown = ma.INCLUDE

    seed = ma.fields.Integer(load_default=None, allow_none=True, validate=ma.validate.Range(min=0, max=2**63 - 1))
    profile = ma.fields.String(
        validate=ma.validate.OneOf(DATASET_PROFILES),
        metadata={"description": "dataset shape: native (default), swat (SWaT-like CSV: mm levels, 1/2 on-off "
                                 "codes, Normal/Attack) or hai (HAI-like CSV: P<n>_ names, attack and attack_P<n>)"},
    )
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class ScenarioSchema(JobSchema):
    manifest = ma.fields.Dict(allow_none=True)


@blp.route("/scenarios", methods=["POST"])
@blp.arguments(ScenarioInSchema)
@blp.response(202, JobSchema)
@requires("generate")
def create_scenario(body: dict[str, Any]) -> Any:
    """Plan and simulate an attack scenario pack: {plant, duration, mix: [{technique, count}], intensity}."""
    who = context.principal()
    seed, description = body.pop("seed"), body.pop("description")
    job = operations.submit(
        context.get_db(),
        context.state_dir(),
        who.tenant_id,
        who.caller,
        {"kind": "scenario_fabricate", "params": body, "seed": seed, "description": description},
        int(context.config()["jobs"]["max_attempts"]),
    )
    return job, 202, {"X-Job-Id": job["id"], "Location": f"/v1/ics/scenarios/{job['id']}"}


@blp.route("/scenarios/<string:scenario_id>")
@blp.response(200, ScenarioSchema)
@requires("read")
def get_scenario(scenario_id: str) -> dict[str, Any]:
    """The scenario job; once it succeeded, with its manifest (scenarios, techniques, label counts)."""
    conn, who = context.get_db(), context.principal()
    job = operations.require_job(conn, who.tenant_id, scenario_id)
    if job["kind"] != "scenario_fabricate":
        raise errors.not_found("scenario", scenario_id)
    manifest = (
        cached.artifact_json(conn, context.state_dir(), job, "manifest.json") if job["status"] == "succeeded" else None
    )
    return operations.view(job) | {"manifest": manifest}
