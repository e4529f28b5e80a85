"""Job operations for the API and CLI: submit, read, cancel, rerun, and the public view of a job."""

from __future__ import annotations

import functools
import json
import secrets
import sqlite3
from pathlib import Path
from typing import Any

import marshmallow as ma

from appliance import errors
from appliance.clock import now_iso
from appliance.errors import AppError, FieldError, flatten_messages
from appliance.ids import new_id
from appliance.jobs import lifecycle, webhook_events
from appliance.jobs.contract import build_contract, contract_hash
from appliance.jobs.inputs import resolve_for_contract
from appliance.jobs.published import native_body, route_queue
from appliance.jobs.queues import QUEUES
from appliance.jobs.tasks import runtime
from appliance.kinds import REGISTRY, get_kind
from appliance.kinds.base import Estimate, Kind, ParamError
from appliance.scrub import scrub
from appliance.services import credits
from appliance.store import datasets as datasets_store
from appliance.store import jobs as jobs_store
from appliance.store.db import transaction

MAX_SEED = 2**63 - 1


def _kind_or_400(name: str) -> Kind:
    kind = get_kind(name)
    if kind is None:
        raise AppError(
            errors.VALIDATION_FAILED,
            f"kind: unknown job kind {name!r}",
            details=[FieldError("kind", f"one of {', '.join(sorted(REGISTRY))}")],
        )
    if not kind.available:
        raise AppError(errors.KIND_NOT_AVAILABLE, f"the {name!r} kind is not available on this appliance yet")
    return kind


@functools.cache
def _params_schema(schema_class: type[ma.Schema]) -> ma.Schema:
    """One instance per params schema: loading does not change a marshmallow 4 schema, and
    building one (its fields deep-copied) cost more than the load itself on every submit."""
    return schema_class()


def validate_params(kind: Kind, params: dict[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = _params_schema(kind.params_schema).load(params)
    except ma.ValidationError as exc:
        details = [FieldError(f"params.{d.field}", d.message) for d in flatten_messages(exc.messages)]
        summary = "; ".join(f"{d.field}: {d.message}" for d in details[:5])
        raise AppError(errors.VALIDATION_FAILED, summary, details=details) from exc
    if kind.check is not None:
        try:
            kind.check(loaded)
        except ParamError as exc:
            raise errors.validation(f"params.{exc.field}", exc.message) from exc
    return json.loads(json.dumps(loaded, default=str))


def prepared_params(kind: Kind, params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Validated params, completed by the kind (e.g. fabricate's plan) so the contract seals them."""
    loaded = validate_params(kind, params)
    if kind.prepare is None:
        return loaded
    try:
        return json.loads(json.dumps(kind.prepare(loaded, seed), default=str))
    except ParamError as exc:
        raise errors.validation(f"params.{exc.field}", exc.message) from exc


def estimate(kind_name: str, params: dict[str, Any]) -> dict[str, Any]:
    """What a native job would cost, on its kind's own queue (no tenant needed)."""
    kind = _kind_or_400(kind_name)
    est = kind.estimate(prepared_params(kind, params, 0))
    return _estimate_view(kind, est, kind.queue)


def estimate_body(
    conn: sqlite3.Connection, tenant_id: str, body: dict[str, Any], interactive_max_rows: int = 0
) -> dict[str, Any]:
    """What a job would cost, from the same body (native or published form) a submit takes, on the
    queue that submit would pick for this tenant."""
    native = native_body(conn, tenant_id, body)
    kind = _kind_or_400(native["kind"])
    est = kind.estimate(prepared_params(kind, native["params"], int(native.get("seed") or 0)))
    return _estimate_view(kind, est, route_queue(conn, tenant_id, kind, native.get("queue"), est, interactive_max_rows))


def _estimate_view(kind: Kind, est: Estimate, queue: str) -> dict[str, Any]:
    return {
        "kind": kind.name,
        "estimated_credits": credits.from_micro(est.micro),
        "estimated_seconds": est.seconds,
        "estimated_rows": est.rows,
        "training_tier": est.tier,
        "queue": queue,
    }


def submit(
    conn: sqlite3.Connection,
    state_dir: Path,
    tenant_id: str,
    caller: str,
    body: dict[str, Any],
    max_attempts: int,
    rerun_of: str | None = None,
    interactive_max_rows: int = 0,
) -> dict[str, Any]:
    """Validate, price, record and enqueue a job; answers the job's public view.

    The job is recorded `created` and moved to `queued` in one transaction, then its task goes to
    the queue: a worker claims only a queued job, and a task lost in between (the API killed) is
    enqueued again by the consumers' sweep (``appliance.jobs.reclaim``)."""
    job = record(conn, tenant_id, caller, body, max_attempts, rerun_of, interactive_max_rows, queued=True)
    return _push(conn, state_dir, job)


def record(
    conn: sqlite3.Connection,
    tenant_id: str,
    caller: str,
    body: dict[str, Any],
    max_attempts: int,
    rerun_of: str | None = None,
    interactive_max_rows: int = 0,
    queued: bool = False,
) -> dict[str, Any]:
    """Validate, price and insert a job as `created`, in one transaction (the caller's, when it has one);
    with ``queued``, moved on to `queued` in that transaction (the caller then pushes its task).

    A caller that records other rows with the job (a live run) wraps both in its own transaction so
    they commit together, then calls `enqueue` once it has committed. ``body`` may be in the
    published form (see ``appliance.jobs.published``); ``interactive_max_rows`` 0 keeps every job
    off the `interactive` queue unless it names it."""
    body = native_body(conn, tenant_id, body)
    kind = _kind_or_400(body["kind"])
    seed = body.get("seed")
    seed = secrets.randbelow(MAX_SEED) if seed is None else int(seed)
    params = prepared_params(kind, body.get("params") or {}, seed)
    input_ids = list(body.get("inputs") or [])
    if len(input_ids) > kind.max_inputs:
        raise errors.validation("inputs", f"the {kind.name} kind takes at most {kind.max_inputs} input dataset(s)")
    if len(input_ids) < kind.min_inputs:
        raise errors.validation("inputs", f"the {kind.name} kind needs {kind.min_inputs} input dataset(s)")
    est = _estimate_with_inputs(conn, tenant_id, kind, params, input_ids)
    queue = route_queue(conn, tenant_id, kind, body.get("queue"), est, interactive_max_rows)
    if queue not in QUEUES:
        raise errors.validation("queue", f"one of {', '.join(QUEUES)}")
    with transaction(conn):
        contract = build_contract(kind.name, params, seed, resolve_for_contract(conn, tenant_id, input_ids))
        if kind.check_inputs is not None:
            datasets = [datasets_store.get_dataset(conn, dataset_id, tenant_id) or {} for dataset_id in input_ids]
            try:
                kind.check_inputs(conn, tenant_id, params, datasets)
            except ParamError as exc:
                raise errors.validation(f"params.{exc.field}", exc.message) from exc
        credits.require_enough(conn, tenant_id, est.micro)
        job: dict[str, Any] = {
            "id": new_id("job"),
            "tenant_id": tenant_id,
            "kind": kind.name,
            "queue": queue,
            "status": "created",
            "description": body.get("description") or "",
            "contract": json.dumps(contract, sort_keys=True),
            "contract_hash": contract_hash(contract),
            "estimate_micro": est.micro,
            "estimate_seconds": est.seconds,
            "max_attempts": max_attempts,
            "rerun_of": rerun_of,
            "created_by": caller,
            "created_at": now_iso(),
        }
        jobs_store.insert_job(conn, job)
        jobs_store.add_event(conn, job["id"], job["created_at"], "status", {"status": "created"})
        webhook_events.job_moved(conn, job["id"], tenant_id, kind.name, "created")
        if queued:
            lifecycle.move(conn, job, "queued")
            job = jobs_store.get_job(conn, job["id"]) or job
    return job


def _estimate_with_inputs(
    conn: sqlite3.Connection, tenant_id: str, kind: Kind, params: dict[str, Any], input_ids: list[str]
) -> Estimate:
    """The kind's estimate, from its inputs' row counts too when it can use them (training time
    grows with the rows trained on, which the params do not say)."""
    if kind.estimate_inputs is None or not input_ids:
        return kind.estimate(params)
    rows = [(datasets_store.get_dataset(conn, dataset_id, tenant_id) or {}).get("rows") for dataset_id in input_ids]
    return kind.estimate_inputs(params, rows)


def enqueue(conn: sqlite3.Connection, state_dir: Path, job_id: str) -> dict[str, Any]:
    """Move a job recorded `created` (in the caller's own transaction) to `queued`, then push its
    task; answers the job's view. `queued` commits first: a worker claims only a queued job."""
    with transaction(conn):
        job = jobs_store.get_job(conn, job_id)
        assert job is not None
        if job["status"] == "created":
            lifecycle.move(conn, job, "queued")
            job = jobs_store.get_job(conn, job_id) or job
    return _push(conn, state_dir, job)


def _push(conn: sqlite3.Connection, state_dir: Path, job: dict[str, Any]) -> dict[str, Any]:
    """Give the queue a `queued` job's task. If the queue refuses it, the job fails at once (no
    worker can have it): the caller gets 503 rather than a job that never runs."""
    try:
        runtime(state_dir, job["queue"]).enqueue(job["id"])
    except Exception as exc:
        with transaction(conn):
            current = jobs_store.get_job(conn, job["id"])
            if current is not None and current["status"] == "queued":
                lifecycle.move(
                    conn,
                    current,
                    "failed",
                    reason="QUEUE_UNAVAILABLE",
                    error_code="QUEUE_UNAVAILABLE",
                    error_message=scrub(str(exc)),
                )
        raise AppError(errors.UNAVAILABLE, f"the {job['queue']} queue could not take the job: {exc}") from exc
    return view(job)


def require_job(conn: sqlite3.Connection, tenant_id: str, job_id: str) -> dict[str, Any]:
    job = jobs_store.get_job(conn, job_id, tenant_id)
    if job is None:
        raise errors.not_found("job", job_id)
    return job


def cancel(conn: sqlite3.Connection, tenant_id: str, job_id: str) -> dict[str, Any]:
    """A queued job is canceled at once; a running one is asked to stop (it checks within 2 s)."""
    with transaction(conn):
        job = require_job(conn, tenant_id, job_id)
        if job["status"] in lifecycle.TERMINAL:
            raise AppError(errors.CONFLICT, f"job {job_id} has already {job['status']}", hint="Nothing to cancel.")
        if job["status"] in ("created", "queued"):
            lifecycle.move(conn, job, "canceled", reason="canceled before it ran")
        else:
            jobs_store.update_job(conn, job_id, {"cancel_requested": 1})
            jobs_store.add_event(conn, job_id, now_iso(), "log", {"message": "cancel requested"})
    return view(require_job(conn, tenant_id, job_id))


def rerun(
    conn: sqlite3.Connection,
    state_dir: Path,
    tenant_id: str,
    caller: str,
    job_id: str,
    max_attempts: int,
    interactive_max_rows: int = 0,
) -> dict[str, Any]:
    """A new job with the same contract (same kind, params, seed and inputs)."""
    job = require_job(conn, tenant_id, job_id)
    contract = json.loads(job["contract"])
    body = {
        "kind": contract["kind"],
        "params": contract["params"],
        "seed": contract["seed"],
        "inputs": [i["dataset_id"] for i in contract["inputs"]],
        "queue": job["queue"],
        "description": job["description"],
    }
    return submit(conn, state_dir, tenant_id, caller, body, max_attempts, job_id, interactive_max_rows)


# Kinds with their own collection in the published API: their links point there (the pages'
# `/v1/synthesize/jobs/{id}`, `…/events`, `…:cancel`); the others' under /v1/jobs.
COLLECTIONS = {"synthesize": "/v1/synthesize/jobs"}


def links(job: dict[str, Any]) -> dict[str, str]:
    """The published collection's links use `…:cancel`; /v1/jobs keeps `/cancel` (both are served)."""
    collection = COLLECTIONS.get(job["kind"])
    base = f"{collection or '/v1/jobs'}/{job['id']}"
    return {
        "self": base,
        "stream": f"{base}/events",
        "cancel": f"{base}:cancel" if collection else f"{base}/cancel",
        "artifacts": f"/v1/artifacts?job_id={job['id']}",
    }


def view(job: dict[str, Any]) -> dict[str, Any]:
    contract = json.loads(job["contract"])
    error = {"code": job["error_code"], "message": job["error_message"]} if job["error_code"] else None
    return {
        "id": job["id"],
        "job_id": job["id"],
        "kind": job["kind"],
        "status": job["status"],
        "queue": job["queue"],
        "description": job["description"],
        "params": contract["params"],
        "seed": contract["seed"],
        "inputs": contract["inputs"],
        "contract_hash": job["contract_hash"],
        "estimate": {"credits": credits.from_micro(job["estimate_micro"]), "seconds": job["estimate_seconds"]},
        # the evidence bundle's root exists once the job has succeeded (the engine seals it then)
        "evidence": {"expected_root_pending": job["status"] not in lifecycle.TERMINAL},
        "progress": job["progress"],
        "rows": job["rows"],
        "message": job["message"],
        "result": json.loads(job["result"]) if job["result"] else None,
        "error": error,
        "attempts": job["attempts"],
        "rerun_of": job["rerun_of"],
        "created_at": job["created_at"],
        "started_at": job["started_at"],
        "finished_at": job["finished_at"],
        "_links": links(job),
    }


def kinds() -> list[dict[str, Any]]:
    return [
        {
            "kind": k.name,
            "queue": k.queue,
            "summary": k.summary,
            "available": k.available,
            "deterministic": k.deterministic,
        }
        for k in REGISTRY.values()
    ]


def listing(
    conn: sqlite3.Connection, tenant_id: str, status: str | None, kind: str | None, limit: int, after: str | None,
    newest_first: bool = True,
) -> dict[str, Any]:
    """One page of the tenant's jobs, newest first unless ``newest_first`` is False, filtered by
    ``status`` and ``kind`` when given."""
    page = jobs_store.page_jobs(
        conn, tenant_id, status=status, kind=kind, limit=limit, after=after, newest_first=newest_first
    )
    return page.listing(view)
