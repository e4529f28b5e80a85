"""POST/GET /v1/jobs, GET /v1/jobs/{id}, cancel, rerun, events; and the per-kind submit aliases."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from appliance import errors
from appliance.api import context
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


def _max_attempts() -> int:
    return int(context.config()["jobs"]["max_attempts"])


def _accepted(job: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    return job, 202, {"X-Job-Id": job["id"], "Location": job["_links"]["self"]}


def _submit(body: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    who = context.principal()
    job = operations.submit(context.get_db(), context.state_dir(), who.tenant_id, who.caller, body, _max_attempts())
    return _accepted(job)


@blp.route("/jobs", methods=["POST"])
@blp.arguments(JobSubmitSchema)
@blp.response(202, JobSchema)
@requires("generate")
def submit_job(body: dict[str, Any]) -> Any:
    """Submit a job. Answers 202 with the job, `X-Job-Id`, the estimate and links."""
    return _submit(body)


@blp.route("/mock/jobs", methods=["POST"])
@blp.arguments(JobSubmitBaseSchema)
@blp.response(202, JobSchema)
@requires("generate")
def submit_mock_job(body: dict[str, Any]) -> Any:
    """A `mock` job (same as POST /v1/jobs with kind=mock)."""
    return _submit({**body, "kind": "mock"})


@blp.route("/synthesize/jobs", methods=["POST"])
@blp.arguments(JobSubmitBaseSchema)
@blp.response(202, JobSchema)
@requires("generate")
def submit_synthesize_job(body: dict[str, Any]) -> Any:
    """A `synthesize` job (same as POST /v1/jobs with kind=synthesize)."""
    return _submit({**body, "kind": "synthesize"})


@blp.route("/jobs")
@blp.arguments(JobListArgsSchema, location="query")
@blp.response(200, JobPageSchema)
@requires("read")
def list_jobs(args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's jobs, oldest first; filter by `status` and `kind`."""
    tenant_id = context.principal().tenant_id
    return operations.listing(context.get_db(), tenant_id, args["status"], args["kind"], args["limit"], args["after"])


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


@blp.route("/jobs/<string:job_id>/rerun", methods=["POST"])
@blp.response(202, JobSchema)
@requires("generate")
def rerun_job(job_id: str) -> Any:
    """A new job with the same contract; deterministic kinds give byte-identical artifacts."""
    who = context.principal()
    job = operations.rerun(context.get_db(), context.state_dir(), who.tenant_id, who.caller, job_id, _max_attempts())
    return _accepted(job)


@blp.route("/jobs/<string:job_id>/events")
@blp.response(200, content_type="text/event-stream")
@requires("read")
def job_events(job_id: str) -> Response:
    """Server-sent events: the journal after `Last-Event-ID` (or `?after=`), then live until the end."""
    tenant_id = context.principal().tenant_id
    operations.require_job(context.get_db(), tenant_id, job_id)
    raw = request.headers.get("Last-Event-ID") or request.args.get("after") or "0"
    if not raw.isdigit():
        raise errors.validation("Last-Event-ID", "must be a non-negative integer")
    heartbeat_s = float(context.config()["streams"]["heartbeat_s"])
    body = events.job_stream(
        context.get_db(), context.streams(), tenant_id, job_id, int(raw), heartbeat_s, context.client_socket()
    )
    return Response(
        body, mimetype="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
