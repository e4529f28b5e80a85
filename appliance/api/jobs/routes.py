"""POST/GET /v1/jobs, GET /v1/jobs/{id}, cancel, rerun, events; and the per-kind collections.

`/v1/mock/jobs` and `/v1/synthesize/jobs` take the published API's bodies too (see
appliance.jobs.published); a synthesize job's `_links` point into `/v1/synthesize/jobs/{id}`, which
serves it, its events and `:cancel` (the Google-style custom method the pages use) beside
`/v1/jobs/{id}/cancel`. Werkzeug's string converter stops only at `/`, so `<job_id>:cancel` is its
own rule with a static suffix, which the router prefers to the plain `<job_id>` rule."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from appliance import errors
from appliance.api import context, pipeline
from appliance.api.extensions import Blueprint, requires
from appliance.api.jobs.schemas import (
    JobListArgsSchema,
    JobPageSchema,
    JobSchema,
    JobSubmitBaseSchema,
    JobSubmitSchema,
    KindListSchema,
)
from appliance.jobs import events, operations

blp = Blueprint("jobs", __name__, url_prefix="/v1", description="Jobs and their lifecycle.")


SYNTHESIZE = "synthesize"

# Schema instances, not classes: webargs builds a fresh schema from a class on every request, a
# deep copy of every field, which was a tenth of a job submit's CPU. Loading does not change them.
SUBMIT_ARGS = JobSubmitSchema()
SUBMIT_BASE_ARGS = JobSubmitBaseSchema()


def _max_attempts() -> int:
    return int(context.config()["jobs"]["max_attempts"])


def _interactive_max_rows() -> int:
    return int(context.config()["jobs"]["interactive_max_rows"])


def _accepted(job: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    return job, 202, {"X-Job-Id": job["id"], "Location": job["_links"]["self"]}


def _submit(body: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    who = context.principal()
    job = operations.submit(
        context.get_db(), context.state_dir(), who.tenant_id, who.caller, body, _max_attempts(),
        interactive_max_rows=_interactive_max_rows(),
    )
    return _accepted(job)


@blp.route("/jobs", methods=["POST"])
@blp.arguments(SUBMIT_ARGS)
@blp.response(202, JobSchema)
@requires("generate")
def submit_job(body: dict[str, Any]) -> Any:
    """Submit a job. Answers 202 with the job, `X-Job-Id`, the estimate and links.

    Without `kind` it is a `mock` job: `{"rows": 100000, "description": "customer transaction records"}`
    plans a schema from the text (sealed in the contract) and generates `rows` rows."""
    return _submit(body)


@blp.route("/mock/jobs", methods=["POST"])
@blp.arguments(SUBMIT_BASE_ARGS)
@blp.response(202, JobSchema)
@requires("generate")
def submit_mock_job(body: dict[str, Any]) -> Any:
    """A `mock` job (same as POST /v1/jobs with kind=mock): a `params.schema`, or a `description` and `rows`."""
    return _submit({**body, "kind": "mock"})


@blp.route("/synthesize/jobs", methods=["POST"])
@blp.arguments(SUBMIT_BASE_ARGS)
@blp.response(202, JobSchema)
@requires("generate")
def submit_synthesize_job(body: dict[str, Any]) -> Any:
    """A `synthesize` job (same as POST /v1/jobs with kind=synthesize).

    `{"dataset_id": "ds_…", "model": "synthesize", "rows": 10000, "seed": 42}` samples a model already
    trained on that dataset with the same settings, or trains one and samples it, in one job."""
    return _submit({**body, "kind": SYNTHESIZE})


def _synthesize_job(job_id: str) -> dict[str, Any]:
    job = operations.require_job(context.get_db(), context.principal().tenant_id, job_id)
    if job["kind"] != SYNTHESIZE:
        raise errors.not_found("synthesize job", job_id)
    return job


@blp.route("/synthesize/jobs/<string:job_id>")
@blp.response(200, JobSchema)
@requires("read")
def get_synthesize_job(job_id: str) -> dict[str, Any]:
    """A synthesize job (the `self` link of its 202); other kinds are under /v1/jobs/{id}."""
    return operations.view(_synthesize_job(job_id))


@blp.route("/synthesize/jobs/<string:job_id>/events")
@blp.response(200, content_type="text/event-stream")
@requires("read")
def synthesize_job_events(job_id: str) -> Response:
    """The synthesize job's server-sent events (the `stream` link), as /v1/jobs/{id}/events."""
    _synthesize_job(job_id)
    return _events(job_id)


@blp.route("/synthesize/jobs/<string:job_id>:cancel", methods=["POST"])
@blp.response(200, JobSchema)
@requires("generate")
def cancel_synthesize_job(job_id: str) -> dict[str, Any]:
    """Cancel a synthesize job (the `cancel` link), as POST /v1/jobs/{id}/cancel."""
    _synthesize_job(job_id)
    return operations.cancel(context.get_db(), context.principal().tenant_id, job_id)


@blp.route("/jobs")
@blp.arguments(JobListArgsSchema, location="query")
@blp.response(200, JobPageSchema)
@requires("read")
def list_jobs(args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's jobs, newest first (`order=asc`: oldest first); filter by `status` and `kind`."""
    tenant_id = context.principal().tenant_id
    return operations.listing(
        context.get_db(), tenant_id, args["status"], args["kind"], args["limit"], args["after"],
        newest_first=args["order"] == "desc",
    )


@blp.route("/jobs/kinds")
@blp.response(200, KindListSchema)
@requires("read")
def list_kinds() -> dict[str, Any]:
    """Every job kind, its queue, and whether it runs on this appliance yet."""
    data = operations.kinds()
    return {"data": data, "count": len(data)}


@blp.route("/jobs/<string:job_id>")
@blp.response(200, JobSchema)
@requires("read")
def get_job(job_id: str) -> dict[str, Any]:
    return operations.view(operations.require_job(context.get_db(), context.principal().tenant_id, job_id))


@blp.route("/jobs/<string:job_id>/cancel", methods=["POST"])
@blp.response(200, JobSchema)
@requires("generate")
def cancel_job(job_id: str) -> dict[str, Any]:
    """Cancel: a queued job at once, a running one within 2 s. A finished job answers 409."""
    return operations.cancel(context.get_db(), context.principal().tenant_id, job_id)


@blp.route("/jobs/<string:job_id>:cancel", methods=["POST"])
@blp.response(200, JobSchema)
@requires("generate")
def cancel_job_custom_method(job_id: str) -> dict[str, Any]:
    """The same cancel, spelled as the published pages' custom method `:cancel`."""
    return operations.cancel(context.get_db(), context.principal().tenant_id, job_id)


@blp.route("/jobs/<string:job_id>/rerun", methods=["POST"])
@blp.response(202, JobSchema)
@requires("generate")
def rerun_job(job_id: str) -> Any:
    """A new job with the same contract; deterministic kinds give byte-identical artifacts."""
    who = context.principal()
    job = operations.rerun(
        context.get_db(), context.state_dir(), who.tenant_id, who.caller, job_id, _max_attempts(),
        _interactive_max_rows(),
    )
    return _accepted(job)


@blp.route("/jobs/<string:job_id>/events")
@blp.response(200, content_type="text/event-stream")
@requires("read")
def job_events(job_id: str) -> Response:
    """Server-sent events: the journal after `Last-Event-ID` (or `?after=`), then live until the end."""
    operations.require_job(context.get_db(), context.principal().tenant_id, job_id)
    return _events(job_id)


@blp.route("/events")
@blp.response(200, content_type="text/event-stream")
@requires("read")
def tenant_events() -> Response:
    """Server-sent events for the whole tenant from now on: `status` and `progress` of every job
    (with `job_id` and `kind`), `alarms` (active alarms per live run) when the counts change, and
    `runs` (each running live run's `paused_at` and its endpoints' state and clients connected)
    when they change."""
    heartbeat_s = float(context.config()["streams"]["heartbeat_s"])
    body = events.tenant_stream(
        context.get_db(),
        context.streams(),
        context.principal().tenant_id,
        heartbeat_s,
        context.client_socket(),
        credential=pipeline.stream_recheck(),
    )
    return Response(
        body, mimetype="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


def _events(job_id: str) -> Response:
    tenant_id = context.principal().tenant_id
    raw = request.headers.get("Last-Event-ID") or request.args.get("after") or "0"
    if not raw.isdigit():
        raise errors.validation("Last-Event-ID", "must be a non-negative integer")
    heartbeat_s = float(context.config()["streams"]["heartbeat_s"])
    body = events.job_stream(
        context.get_db(),
        context.streams(),
        tenant_id,
        job_id,
        int(raw),
        heartbeat_s,
        context.client_socket(),
        credential=pipeline.stream_recheck(),
    )
    return Response(
        body, mimetype="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
