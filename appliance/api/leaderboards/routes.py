"""GET /v1/leaderboards?dataset_id=: a dataset's models ranked by quality score and TSTR."""

from __future__ import annotations

from typing import Any

from appliance.api import context
from appliance.api.extensions import Blueprint, requires
from appliance.api.leaderboards.schemas import LeaderboardArgsSchema, LeaderboardSchema
from appliance.services.synth.leaderboard import leaderboard

blp = Blueprint("leaderboards", __name__, url_prefix="/v1/leaderboards", description="Models ranked per dataset.")


@blp.route("")
@blp.arguments(LeaderboardArgsSchema, location="query")
@blp.response(200, LeaderboardSchema)
@requires("read")
def get_leaderboard(args: dict[str, Any]) -> dict[str, Any]:
    """The models trained on `dataset_id`, best first: `by=quality` (default; the sdmetrics quality
    score measured at training) or `by=tstr` (the newest evaluation's f1 or r2); the other breaks ties."""
    return leaderboard(context.get_db(), context.principal().tenant_id, args["dataset_id"], args["by"])
