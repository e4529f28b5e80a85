"""The overview page: live runs, recent jobs with their progress, disk and queue health, credits.

The page follows the tenant's event stream (``GET /v1/events``, one ``EventSource`` per tab, fed by
the process's one poller): a job's progress is drawn in place from the event, and a change of what
the page lists (a job's or a live run's state, a new job, alarm counts) re-fetches the live part
once, marked as a background request so an open overview does not hold a session past its idle
timeout. Besides, once per idle timeout the page re-reads it anyway, so a session that has ended
sends the tab to the login form rather than leaving it on stale figures.
"""

from __future__ import annotations

from typing import Any

from appliance.api import context
from appliance.api.extensions import requires
from appliance.jobs import operations, queues
from appliance.services import alarms, credits, health, scada
from appliance.web.blueprint import blp, page

RECENT_JOBS = 10
LIVE_RUNS = 20
LIVE_STATES = frozenset({"starting", "running", "paused"})


def _live() -> dict[str, Any]:
    conn = context.get_db()
    tenant_id = context.principal().tenant_id
    state_dir = context.state_dir()
    cfg = context.config()
    runs = scada.listing(conn, tenant_id, LIVE_RUNS, None)["data"]
    jobs = operations.listing(conn, tenant_id, None, None, RECENT_JOBS, None)["data"]
    depths = queues.pending_counts(state_dir)
    return {
        "runs": [run for run in runs if run["status"] in LIVE_STATES],
        "alarms": alarms.active_counts(conn, tenant_id),
        "jobs": jobs,
        "health": health.livez(conn, state_dir, int(cfg["health"]["min_free_bytes"]), depths),
        "queues": depths,
        "credits": credits.balance(conn, tenant_id)["credits"],
    }


@blp.route("/")
@requires("read")
def overview() -> str:
    """The first page after login."""
    return page("overview.html", idle_s=int(context.config()["ui"]["idle_timeout_s"]), **_live())


@blp.route("/overview/live")
@requires("read")
def overview_live() -> str:
    """The overview's live part alone, fetched again when the tenant's event stream says it changed."""
    return page("_overview_live.html", **_live())
