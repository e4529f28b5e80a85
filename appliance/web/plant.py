"""The plant pages: live runs (start, stop, pause, resume), a run's mimic with faceplates, setpoint
writes and attack injection, its trends, and its point map.

The pages render once on the server; live values and the run's state (paused, resumed, ended,
clients connected) then come from the API's own stream (``/v1/scada/runs/{id}/values``, one
EventSource per tab, no polling), and the writes the page makes
(setpoints, attacks) go to the API's routes with the session's CSRF token, so the page and a script
share one service and one check of every value. Trends read ``/v1/scada/runs/{id}/trend``, which
decimates on the server. ``static/plant.js`` holds the behaviour.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from appliance import errors
from appliance.api import context
from appliance.api.extensions import DEFAULT_PAGE_LIMIT, accepts_body, requires
from appliance.jobs import live_runs
from appliance.services import point_map, scada, trends
from appliance.web.blueprint import blp, page

MIMICS = {"water": "_mimic_water.html", "chemical": "_mimic_chemical.html", "power": "_mimic_power.html"}
ROLES_SHOWN = ("sensor", "setpoint", "parameter", "mode", "command", "actuator", "status")
LIVE = frozenset({"starting", "running", "paused"})


def _run(run_id: str) -> dict[str, Any]:
    conn = context.get_db()
    return scada.view(conn, scada.require(conn, context.principal().tenant_id, run_id))


def _port(name: str, required: bool) -> int | None:
    text = (request.form.get(name) or "").strip()
    if not text:
        if required:
            raise errors.validation(name, "a port from 1 to 65535")
        return None
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise errors.validation(name, "a port from 1 to 65535")
    return int(text)


def _number(name: str, low: float, high: float) -> float | None:
    text = (request.form.get(name) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise errors.validation(name, "a number") from None
    if not low <= value <= high:
        raise errors.validation(name, f"from {low:g} to {high:g}")
    return value


@blp.route("/plant")
@requires("read")
def plant_runs() -> str:
    """The tenant's live runs, and (with `generate`) the form that starts one."""
    listing = scada.listing(context.get_db(), context.principal().tenant_id, DEFAULT_PAGE_LIMIT, None)
    return page("plant_runs.html", runs=listing["data"], plants=scada.plants())


@blp.route("/plant/start", methods=["POST"])
@requires("generate")
@accepts_body("form")
def plant_start() -> BaseResponse:
    """Start a live run from the form, exactly as ``POST /v1/scada/runs`` does, and open its page."""
    plant = request.form.get("plant", "")
    if plant not in scada.plants():
        raise errors.validation("plant", f"one of {', '.join(scada.plants())}")
    modbus_port, opcua_port = _port("modbus_port", False), _port("opcua_port", False)
    body: dict[str, Any] = {
        "plant": plant,
        "speed": _number("speed", 0.01, 1000) or 1.0,
        "duration": _number("duration", 1, 30 * 86400),
        "description": (request.form.get("description") or "")[:500],
        "modbus": {"port": modbus_port, "unit_id": 1, "writes": request.form.get("modbus_writes") == "on"}
        if modbus_port
        else None,
        "opcua": {"port": opcua_port, "security": "sign_encrypt"} if opcua_port else None,
    }
    who = context.principal()
    run = live_runs.start(
        context.get_db(),
        context.state_dir(),
        who.tenant_id,
        who.caller,
        body,
        scada.LivePolicy.from_config(context.config()["scada"]),
    )
    return redirect(url_for("ui.plant_run", run_id=run["id"]), code=303)


@blp.route("/plant/<string:run_id>")
@requires("read")
def plant_run(run_id: str) -> str:
    """One run: the mimic, a faceplate per tag, writes, attacks, pause, resume and stop. The page
    follows the run's state from its values stream (a pause, resume or stop by anyone, clients
    connecting), so what it offers is drawn for every phase and shown for the current one."""
    run = _run(run_id)
    tags = trends.plant_tags(run["plant"])
    page_data = {
        "run": run["id"],
        "status": run["status"],
        "stream": run["_links"]["values"],
        "writes": run["_links"]["writes"],
        "attacks": run["_links"]["attacks"],
        "trend": run["_links"]["trend"],
        "self": run["_links"]["self"],
        "tags": tags,
    }
    return page(
        "plant_run.html",
        run=run,
        tags=tags,
        roles=ROLES_SHOWN,
        mimic=MIMICS[run["plant"]],
        techniques=scada.techniques(),
        live=run["status"] in LIVE,
        phase=run["status"] if run["status"] in LIVE else "ended",
        page_data=json.dumps(page_data),
    )


@blp.route("/plant/<string:run_id>/stop", methods=["POST"])
@requires("generate")
@accepts_body("form")
def plant_stop(run_id: str) -> BaseResponse:
    """Stop, as ``POST /v1/scada/runs/{id}/stop`` does (an ended run is a 409 page)."""
    live_runs.stop(context.get_db(), context.principal().tenant_id, run_id)
    return redirect(url_for("ui.plant_run", run_id=run_id), code=303)


@blp.route("/plant/<string:run_id>/pause", methods=["POST"])
@requires("generate")
@accepts_body("form")
def plant_pause(run_id: str) -> BaseResponse:
    """Pause, as ``POST /v1/scada/runs/{id}/pause`` does (a run not running is a 409 page)."""
    scada.set_paused(context.get_db(), context.principal().tenant_id, run_id, True)
    return redirect(url_for("ui.plant_run", run_id=run_id), code=303)


@blp.route("/plant/<string:run_id>/resume", methods=["POST"])
@requires("generate")
@accepts_body("form")
def plant_resume(run_id: str) -> BaseResponse:
    """Resume, as ``POST /v1/scada/runs/{id}/resume`` does (a run not paused is a 409 page)."""
    scada.set_paused(context.get_db(), context.principal().tenant_id, run_id, False)
    return redirect(url_for("ui.plant_run", run_id=run_id), code=303)


@blp.route("/plant/<string:run_id>/trends")
@requires("read")
def plant_trends(run_id: str) -> str:
    """Pens, window, zoom and pan over the run's history; CSV of exactly the visible range."""
    run = _run(run_id)
    tags = [t for t in trends.plant_tags(run["plant"]) if t["kind"] == "analog"]
    wanted = [t for t in request.args.getlist("pen") if t][: trends.MAX_PENS]
    known = {t["name"] for t in tags}
    bad = [t for t in wanted if t not in known]
    if bad:
        raise errors.validation("pen", f"not an analog tag of this plant: {bad[0][:64]}")
    window = request.args.get("window", "600")
    if not window.isdigit() or not 10 <= int(window) <= trends.MAX_WINDOW_S:
        raise errors.validation("window", f"seconds from 10 to {trends.MAX_WINDOW_S}")
    pens = wanted or [t["name"] for t in tags[:3]]
    data = {
        "run": run["id"],
        "trend": run["_links"]["trend"],
        "stream": run["_links"]["values"],
        "pens": pens,
        "window": int(window),
        "live": run["status"] in LIVE,
    }
    return page(
        "plant_trends.html",
        run=run,
        tags=tags,
        pens=pens,
        window=int(window),
        page_data=json.dumps(data),
        max_pens=trends.MAX_PENS,
    )


@blp.route("/plant/<string:run_id>/points")
@requires("read")
def plant_points(run_id: str) -> str | Response:
    """Every Modbus point and OPC UA node of the run, with live values; `format=csv|json` downloads."""
    mapped = point_map.point_map(context.get_db(), context.principal().tenant_id, run_id)
    fmt = request.args.get("format", "html")
    if fmt == "json":
        return Response(
            json.dumps(mapped, indent=2),
            mimetype="application/json",
            headers={"Content-Disposition": f'attachment; filename="{run_id}-points.json"'},
        )
    if fmt == "csv":
        protocol = request.args.get("protocol", "modbus")
        if protocol not in ("modbus", "opcua"):
            raise errors.validation("protocol", "modbus or opcua")
        return Response(
            point_map.to_csv(mapped, protocol),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{run_id}-{protocol}-points.csv"'},
        )
    if fmt != "html":
        raise errors.validation("format", "html, csv or json")
    run = _run(run_id)
    data = {"run": run_id, "stream": run["_links"]["values"], "tags": []}
    return page("plant_points.html", run=run, mapped=mapped, page_data=json.dumps(data))
