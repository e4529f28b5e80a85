"""POST /v1/evaluations (TSTR of a synthesize job's rows, answered at once) and GET one."""

from __future__ import annotations

from typing import Any

from appliance.api import context
from appliance.api.evaluations.schemas import EvaluationCreateSchema, EvaluationSchema
from appliance.api.extensions import Blueprint, requires
from appliance.services.synth import evaluations

blp = Blueprint("evaluations", __name__, url_prefix="/v1/evaluations", description="TSTR evaluations.")


@blp.route("", methods=["POST"])
@blp.arguments(EvaluationCreateSchema)
@blp.response(201, EvaluationSchema)
@requires("generate")
def create_evaluation(body: dict[str, Any]) -> dict[str, Any]:
    """Train a scikit-learn model on a synthesize job's rows and test it on real rows (the model's
    holdout unless `dataset_id` is given), plus per-column KS/TVD. Runs in the request: at most
    200,000 rows per set are used (a seeded sample beyond that)."""
    who = context.principal()
    return evaluations.create(context.get_db(), context.state_dir(), who.tenant_id, who.caller, body)


@blp.route("/<string:evaluation_id>")
@blp.response(200, EvaluationSchema)
@requires("read")
def get_evaluation(evaluation_id: str) -> dict[str, Any]:
    return evaluations.require(context.get_db(), context.principal().tenant_id, evaluation_id)
