"""GET /v1/leaderboards?dataset_id=: a dataset's models ranked by quality score and TSTR;
GET /v1/leaderboards/ics: the detectors of the tenant's `ics_benchmark` jobs ranked by eTaPR F1."""

from __future__ import annotations

from typing import Any

from appliance.api import context
from appliance.api.extensions import Blueprint, requires
from appliance.api.leaderboards.schemas import (
    IcsLeaderboardArgsSchema,
    IcsLeaderboardSchema,
    LeaderboardArgsSchema,
    LeaderboardSchema,
)
from appliance.services import ics_leaderboard
from appliance.services.synth.leaderboard import leaderboard

blp = Blueprint(
    "leaderboards", __name__, url_prefix="/v1/leaderboards",
    description="Models ranked per dataset; ICS anomaly detectors ranked by their benchmark scores.",
)


@blp.route("")
@blp.arguments(LeaderboardArgsSchema, location="query")
@blp.response(200, LeaderboardSchema)
@requires("read")
def get_leaderboard(args: dict[str, Any]) -> dict[str, Any]:
    """The models trained on `dataset_id`, best first: `by=quality` (default; the sdmetrics quality
    score measured at training) or `by=tstr` (the newest evaluation's f1 or r2); the other breaks ties."""
    return leaderboard(context.get_db(), context.principal().tenant_id, args["dataset_id"], args["by"])


@blp.route("/ics")
@blp.arguments(IcsLeaderboardArgsSchema, location="query")
@blp.response(200, IcsLeaderboardSchema)
@requires("read")
def get_ics_leaderboard(args: dict[str, Any]) -> dict[str, Any]:
    """Every detector of your succeeded `ics_benchmark` jobs (newest 200 jobs), best first by `by`
    (`etapr_f1` default, `pa_f1` or `f1`), for one `plant` when given; each names its job and seal."""
    return ics_leaderboard.leaderboard(context.get_db(), context.principal().tenant_id, args["plant"], args["by"])
