"""The datasets pages: the list with an upload box (drag and drop, a progress bar), one dataset's
preview and profile (a chart per column), and delete.

The upload goes straight to the API's own ``POST /v1/datasets`` from the browser (an
XMLHttpRequest, whose upload events drive the progress bar; the session cookie and the CSRF header
authenticate it), so a file takes the one streamed, quota-checked path every client takes. The
profile is the API's too: the newest `analyze` job's, or a new one started on the first look,
which the page follows on the job's event stream and then swaps in.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from appliance import errors
from appliance.api import context
from appliance.api.extensions import DEFAULT_PAGE_LIMIT, accepts_body, requires
from appliance.jobs import operations
from appliance.services.datasets import cached, ingest, preview
from appliance.services.datasets.limits import Limits
from appliance.web import charts
from appliance.web.blueprint import blp, page

PREVIEW_ROWS = 20
_CURSOR_MAX = 64


@blp.route("/datasets")
@requires("read")
def datasets() -> str:
    """The tenant's datasets, with the upload box for those who may upload."""
    after = request.args.get("after") or None
    if after is not None and len(after) > _CURSOR_MAX:
        raise errors.validation("after", f"at most {_CURSOR_MAX} characters")
    listing = ingest.listing(context.get_db(), context.principal().tenant_id, DEFAULT_PAGE_LIMIT, after)
    limit = int(context.config()["datasets"]["max_upload_bytes"])
    return page("datasets.html", listing=listing, max_upload_bytes=limit)


def _profile_values(dataset_id: str) -> dict[str, Any]:
    """The profile with a chart per column, or the analyze job computing it (started if none is)."""
    conn = context.get_db()
    who = context.principal()
    max_bytes = Limits.from_config(context.config()).max_answer_bytes
    profile, pending = cached.profile_or_pending(conn, context.state_dir(), who.tenant_id, dataset_id, max_bytes)
    if profile is not None:
        columns = [{**c, "chart": charts.column_chart(c)} for c in profile["columns"]]
        return {"profile": profile, "columns": columns, "pending": None}
    if pending is not None:
        job = operations.view(pending)
    else:
        body = {"kind": "analyze", "inputs": [dataset_id], "params": {}}
        job = operations.submit(
            conn, context.state_dir(), who.tenant_id, who.caller, body, int(context.config()["jobs"]["max_attempts"])
        )
    return {"profile": None, "columns": [], "pending": job}


@blp.route("/datasets/<string:dataset_id>")
@requires("read")
def dataset(dataset_id: str) -> str:
    """One dataset: what it is, its first rows, its profile."""
    conn = context.get_db()
    row = ingest.require(conn, context.principal().tenant_id, dataset_id)
    head = preview.head(context.state_dir(), row, PREVIEW_ROWS, Limits.from_config(context.config()))
    return page("dataset.html", dataset=ingest.view(row), head=head, **_profile_values(dataset_id))


@blp.route("/datasets/<string:dataset_id>/profile")
@requires("read")
def dataset_profile(dataset_id: str) -> str:
    """The profile part alone, swapped in when the analyze job the page followed has ended."""
    ingest.require(context.get_db(), context.principal().tenant_id, dataset_id)
    return page("_dataset_profile.html", dataset_id=dataset_id, **_profile_values(dataset_id))


@blp.route("/datasets/<string:dataset_id>/delete", methods=["POST"])
@requires("generate")
@accepts_body("form")
def delete_dataset(dataset_id: str) -> BaseResponse:
    """Delete, as ``DELETE /v1/datasets/{id}`` does (a 409 page while a job uses it)."""
    ingest.delete(context.get_db(), context.state_dir(), context.principal().tenant_id, dataset_id)
    return redirect(url_for("ui.datasets"), code=303)
