"""The jobs pages: the list with its filters, and one job with its live progress and log, cancel,
rerun, artifacts and contract.

A job page follows the job through the API's own event stream (``/v1/jobs/{id}/events``), which
accepts the session cookie like any other credential; the page opens one EventSource and swaps in
the finished state when the stream says ``end``. Downloads are the API's download routes.
"""

from __future__ import annotations

import json
from typing import Any

from flask import redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from appliance import errors
from appliance.api import context
from appliance.api.extensions import DEFAULT_PAGE_LIMIT, accepts_body, requires
from appliance.jobs import lifecycle, operations
from appliance.services import artifacts
from appliance.web.blueprint import blp, page

STATUSES = tuple(lifecycle.ALLOWED)
ARTIFACTS_SHOWN = 200
_CURSOR_MAX = 64


def _filters() -> dict[str, Any]:
    """The list's query string, checked as the API checks its own (a bad value is a 400 page)."""
    status = request.args.get("status") or None
    kind = request.args.get("kind") or None
    after = request.args.get("after") or None
    if status is not None and status not in STATUSES:
        raise errors.validation("status", f"one of {', '.join(STATUSES)}")
    if kind is not None and kind not in {k["kind"] for k in operations.kinds()}:
        raise errors.validation("kind", "not a job kind of this appliance")
    if after is not None and len(after) > _CURSOR_MAX:
        raise errors.validation("after", f"at most {_CURSOR_MAX} characters")
    return {"status": status, "kind": kind, "after": after}


@blp.route("/jobs")
@requires("read")
def jobs() -> str:
    """The tenant's jobs, newest first, filtered by status and kind."""
    filters = _filters()
    listing = operations.listing(
        context.get_db(), context.principal().tenant_id, filters["status"], filters["kind"], DEFAULT_PAGE_LIMIT,
        filters["after"],
    )
    # the filter form swaps only the table; anything else (a link, back/forward) gets the whole page
    template = "_jobs_table.html" if request.headers.get("HX-Target") == "jobs-table" else "jobs.html"
    return page(template, listing=listing, filters=filters, statuses=STATUSES, kinds=operations.kinds())


def _job_page_values(job_id: str) -> dict[str, Any]:
    conn = context.get_db()
    tenant_id = context.principal().tenant_id
    row = operations.require_job(conn, tenant_id, job_id)
    return {
        "job": operations.view(row),
        "contract": json.dumps(json.loads(row["contract"]), indent=2, sort_keys=True),
        "artifacts": artifacts.listing(conn, tenant_id, job_id, ARTIFACTS_SHOWN, None)["data"],
        "terminal": row["status"] in lifecycle.TERMINAL,
    }


@blp.route("/jobs/<string:job_id>")
@requires("read")
def job(job_id: str) -> str:
    """One job: state, live progress and log, cancel, artifacts, contract and its hash."""
    return page("job.html", **_job_page_values(job_id))


@blp.route("/jobs/<string:job_id>/panel")
@requires("read")
def job_panel(job_id: str) -> str:
    """The job's state, progress, actions and artifacts alone, swapped in when its stream ends."""
    return page("_job_panel.html", **_job_page_values(job_id))


@blp.route("/jobs/<string:job_id>/cancel", methods=["POST"])
@requires("generate")
@accepts_body("form")
def cancel_job(job_id: str) -> str | BaseResponse:
    """Cancel, as ``POST /v1/jobs/{id}/cancel`` does (a finished job is a 409 shown in the page)."""
    operations.cancel(context.get_db(), context.principal().tenant_id, job_id)
    if request.headers.get("HX-Request"):
        return page("_job_panel.html", **_job_page_values(job_id))
    return redirect(url_for("ui.job", job_id=job_id), code=303)


@blp.route("/jobs/<string:job_id>/rerun", methods=["POST"])
@requires("generate")
@accepts_body("form")
def rerun_job(job_id: str) -> BaseResponse:
    """Run the same contract again, as ``POST /v1/jobs/{id}/rerun`` does; opens the new job."""
    who = context.principal()
    cfg = context.config()["jobs"]
    job = operations.rerun(
        context.get_db(), context.state_dir(), who.tenant_id, who.caller, job_id, int(cfg["max_attempts"]),
        int(cfg["interactive_max_rows"]),
    )
    return redirect(url_for("ui.job", job_id=job["id"]), code=303)
