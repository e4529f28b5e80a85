"""GET /healthz, /livez, /metrics and /v1/errors. Public: they hold no tenant data."""

from __future__ import annotations

from typing import Any

from flask import Response

from appliance import __version__
from appliance.api import context
from appliance.api.extensions import Blueprint, requires
from appliance.api.meta.schemas import ErrorCatalogueSchema, HealthSchema, LivezSchema
from appliance.errors import CATALOGUE
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
    report = health.livez(context.get_db(), context.state_dir(), int(cfg["health"]["min_free_bytes"]))
    return report, (200 if report["ok"] else 503)


@blp.route("/metrics")
@blp.response(200, content_type="text/plain")
@requires(None)
def metrics() -> Response:
    """Prometheus text format."""
    text = health.metrics_text(context.get_db(), context.state_dir())
    return Response(text, content_type="text/plain; version=0.0.4; charset=utf-8")


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
