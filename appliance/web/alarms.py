"""The alarms page: active alarms by priority with acknowledge (with a note) and shelve, the
history with its filters, and the CSV of what the filters select. The forms call the same
functions (`appliance.services.alarms`) as ``/v1/scada/alarms``."""

from __future__ import annotations

from typing import Any

from flask import Response, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from appliance import errors
from appliance.api import context
from appliance.api.extensions import DEFAULT_PAGE_LIMIT, accepts_body, requires
from appliance.services import alarms
from appliance.web.blueprint import blp, page

_TEXT_MAX = 64


def _filters() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("run_id", "tag", "since", "until"):
        value = request.args.get(name) or None
        if value is not None and len(value) > _TEXT_MAX:
            raise errors.validation(name, f"at most {_TEXT_MAX} characters")
        out[name] = value
    priority = request.args.get("priority") or None
    if priority is not None and priority not in ("1", "2", "3"):
        raise errors.validation("priority", "1 (urgent), 2 (high) or 3 (low)")
    out["priority"] = int(priority) if priority else None
    return out


@blp.route("/alarms")
@requires("read")
def alarms_page() -> str | Response:
    """Active alarms by priority, and the history with filters (``format=csv`` downloads it)."""
    conn, tenant_id = context.get_db(), context.principal().tenant_id
    filters = _filters()
    after = request.args.get("after") or None
    if after is not None and len(after) > _TEXT_MAX:
        raise errors.validation("after", f"at most {_TEXT_MAX} characters")
    if request.args.get("format") == "csv":
        return Response(
            alarms.history_csv(conn, tenant_id, filters),
            mimetype="text/csv",
            headers={"Content-Disposition": 'attachment; filename="alarms.csv"'},
        )
    return page(
        "alarms.html",
        active=alarms.active(conn, tenant_id, filters["run_id"]),
        history=alarms.history(conn, tenant_id, filters, DEFAULT_PAGE_LIMIT, after),
        filters=filters,
        query={k: v for k, v in filters.items() if v is not None},
        priorities=alarms.PRIORITIES,
    )


def _back() -> BaseResponse:
    return redirect(url_for("ui.alarms_page"), code=303)


@blp.route("/alarms/<string:alarm_id>/ack", methods=["POST"])
@requires("generate")
@accepts_body("form")
def alarm_ack(alarm_id: str) -> BaseResponse:
    who = context.principal()
    alarms.ack(context.get_db(), who.tenant_id, alarm_id, who.caller, request.form.get("note", ""))
    return _back()


@blp.route("/alarms/<string:alarm_id>/shelve", methods=["POST"])
@requires("generate")
@accepts_body("form")
def alarm_shelve(alarm_id: str) -> BaseResponse:
    text = (request.form.get("minutes") or "").strip()
    try:
        minutes = float(text)
    except ValueError:
        raise errors.validation("minutes", f"a number of minutes from 0 to {alarms.SHELVE_MAX_MIN}") from None
    who = context.principal()
    alarms.shelve(context.get_db(), who.tenant_id, alarm_id, who.caller, minutes, request.form.get("note", ""))
    return _back()
