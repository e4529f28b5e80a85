"""GET /healthz, /livez, /metrics and /v1/errors. No API key: they hold no tenant data.

/metrics does count tenants, keys, users and audit entries, so it has its own gate: a bearer
token from ``[metrics] token``, or, when none is set, clients on the loopback address only (a
scraper on the box itself). The peer address is gunicorn's socket peer; no proxy header is
trusted, because the appliance runs without a reverse proxy.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Response, request

from appliance import __version__, errors
from appliance.addresses import is_loopback
from appliance.api import context
from appliance.api.extensions import Blueprint, requires
from appliance.api.meta.schemas import ErrorCatalogueSchema, HealthSchema, LivezSchema
from appliance.errors import CATALOGUE, AppError
from appliance.jobs import queues
from appliance.services import health

blp = Blueprint("meta", __name__, description="Health, metrics and the error catalogue.")


@blp.route("/healthz")
@blp.response(200, HealthSchema)
@requires(None)
def healthz() -> dict[str, Any]:
    """Liveness: the API process answers."""
    return {"status": "ok", "version": __version__}


@blp.route("/livez")
@blp.response(200, LivezSchema)
@blp.alt_response(503, schema=LivezSchema, description="A check failed")
@requires(None)
def livez() -> Any:
    """Readiness: the database, the disk and the queues."""
    cfg = context.config()
    state_dir = context.state_dir()
    report = health.livez(
        context.get_db(), state_dir, int(cfg["health"]["min_free_bytes"]), queues.pending_counts(state_dir)
    )
    return report, (200 if report["ok"] else 503)


@blp.route("/metrics")
@blp.response(200, content_type="text/plain")
@requires(None)
def metrics() -> Response:
    """Prometheus text format. With `[metrics] token` set, send `Authorization: Bearer <token>`;
    without one, only loopback clients may read it."""
    _check_metrics_access(str(context.config()["metrics"]["token"]))
    state_dir = context.state_dir()
    text = health.metrics_text(context.get_db(), state_dir, queues.pending_counts(state_dir), _process_counts())
    return Response(text, content_type="text/plain; version=0.0.4; charset=utf-8")


def _process_counts() -> dict[str, int]:
    """What this worker process holds: event streams and what they follow, greenlets and threads.

    Answered by whichever worker process takes the scrape. Counting greenlets walks the garbage
    collector's objects (a few milliseconds), once per scrape."""
    import gc
    import threading

    from greenlet import greenlet

    streams = context.streams().open_streams()
    return {
        "streams_open": streams["open"],
        "streams_jobs_followed": streams["jobs"],
        "streams_runs_followed": streams["runs"],
        "greenlets": sum(1 for obj in gc.get_objects() if issubclass(type(obj), greenlet) and obj),  # live ones
        "threads": threading.active_count(),
    }


def _check_metrics_access(token: str) -> None:
    if not token:
        if not is_loopback(request.remote_addr):
            raise AppError(errors.METRICS_LOOPBACK_ONLY)
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise AppError(errors.METRICS_UNAUTHORIZED, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


@blp.route("/v1/errors")
@blp.response(200, ErrorCatalogueSchema)
@requires(None)
def error_catalogue() -> dict[str, Any]:
    """Every error code the API can answer, with its status, meaning and hint."""
    data = [
        {"code": s.code, "status": s.status, "meaning": s.meaning, "hint": s.hint}
        for s in sorted(CATALOGUE.values(), key=lambda s: (s.status, s.code))
    ]
    return {"data": data, "count": len(data)}
