"""/v1/scada/runs: start, list, read, stop, pause, resume, attack, values (SSE) and the register/node maps."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

from appliance.api import context, pipeline
from appliance.api.extensions import Blueprint, requires
from appliance.api.scada.schemas import (
    AckInSchema,
    ActiveAlarmArgsSchema,
    ActiveAlarmsSchema,
    AlarmHistoryArgsSchema,
    AlarmPageSchema,
    AlarmSchema,
    AttackInSchema,
    AttackOutSchema,
    CertificateListArgsSchema,
    CertificatePageSchema,
    CertificateSchema,
    MapArgsSchema,
    RunInSchema,
    RunListArgsSchema,
    RunPageSchema,
    RunSchema,
    ShelveInSchema,
    TrendArgsSchema,
    WriteInSchema,
    WriteOutSchema,
)
from appliance.jobs import events, live_runs
from appliance.services import alarms, opcua_certs, scada, trends

blp = Blueprint("scada", __name__, url_prefix="/v1/scada", description="Live plants over Modbus TCP and OPC UA.")


@blp.route("/runs", methods=["POST"])
@blp.arguments(RunInSchema)
@blp.response(202, RunSchema)
@requires("generate")
def start_run(body: dict[str, Any]) -> Any:
    """Start a live run on the `sim` queue: the plant steps in real time (or `speed`×) and serves its
    tags over Modbus TCP and/or OPC UA until `duration` ends or it is stopped. `host` picks the
    address to listen on among those the operator allows (`[scada] allowed_hosts`). The run reads
    `starting` until every endpoint accepts connections, then `running`. Over `[scada] max_runs`
    (or `max_runs_per_tenant`) active runs the answer is 409 `LIVE_RUN_LIMIT`."""
    who, cfg = context.principal(), context.config()
    run = live_runs.start(
        context.get_db(),
        context.state_dir(),
        who.tenant_id,
        who.caller,
        body,
        scada.LivePolicy.from_config(cfg["scada"]),
    )
    return run, 202, {"Location": run["_links"]["self"], "X-Job-Id": run["job_id"]}


@blp.route("/runs")
@blp.arguments(RunListArgsSchema, location="query")
@blp.response(200, RunPageSchema)
@requires("read")
def list_runs(args: dict[str, Any]) -> dict[str, Any]:
    return scada.listing(context.get_db(), context.principal().tenant_id, args["limit"], args["after"])


@blp.route("/runs/<string:run_id>")
@blp.response(200, RunSchema)
@requires("read")
def get_run(run_id: str) -> dict[str, Any]:
    conn = context.get_db()
    return scada.view(conn, scada.require(conn, context.principal().tenant_id, run_id))


@blp.route("/runs/<string:run_id>/stop", methods=["POST"])
@blp.response(202, RunSchema)
@requires("generate")
def stop_run(run_id: str) -> dict[str, Any]:
    """Stop: the recording becomes artifacts and is sealed. A finished run answers 409."""
    return live_runs.stop(context.get_db(), context.principal().tenant_id, run_id)


@blp.route("/runs/<string:run_id>/pause", methods=["POST"])
@blp.response(200, RunSchema)
@blp.alt_response(202, schema=RunSchema, description="Handed to the run, not applied yet")
@requires("generate")
def pause_run(run_id: str) -> Any:
    """Pause a running run: the plant freezes (simulated time stands still, no new samples or trend
    history), its Modbus and OPC UA servers keep their clients and serve the last values, and every
    write is refused until it resumes: here 409 `LIVE_RUN_STATE`, over Modbus exception 6 (Server
    Device Busy), over OPC UA BadInvalidState. 200 once the run's worker has frozen it, 202 if it
    has not answered within 5 s. Pausing a run that is not running is 409 `LIVE_RUN_STATE`."""
    run, applied = scada.set_paused(context.get_db(), context.principal().tenant_id, run_id, True)
    return run, (200 if applied else 202)


@blp.route("/runs/<string:run_id>/resume", methods=["POST"])
@blp.response(200, RunSchema)
@blp.alt_response(202, schema=RunSchema, description="Handed to the run, not applied yet")
@requires("generate")
def resume_run(run_id: str) -> Any:
    """Resume a paused run from the scan it froze at (the pause is not caught up). Resuming a run
    that is not paused is 409 `LIVE_RUN_STATE`."""
    run, applied = scada.set_paused(context.get_db(), context.principal().tenant_id, run_id, False)
    return run, (200 if applied else 202)


@blp.route("/runs/<string:run_id>/attacks", methods=["POST"])
@blp.arguments(AttackInSchema)
@blp.response(201, AttackOutSchema)
@blp.alt_response(202, schema=AttackOutSchema, description="Handed to the run, not applied yet")
@requires("generate")
def inject_attack(body: dict[str, Any], run_id: str) -> Any:
    """Inject an attack from the library now; it shows in the served values and in the labels."""
    spec = {k: v for k, v in body.items() if v is not None}
    answer = scada.attack(context.get_db(), context.principal().tenant_id, run_id, spec)
    return answer, (201 if answer["status"] == "active" else 202)


@blp.route("/runs/<string:run_id>/values")
@blp.response(200, content_type="text/event-stream")
@requires("read")
def stream_values(run_id: str) -> Response:
    """Server-sent events: every sample of the run's tag values (up to ten a second), until it ends.

    Event `values` (id: the sample number) per sample; event `state` (no id) with the run's status,
    `paused_at` and each endpoint's state and clients, first and then whenever it changes (a pause,
    a resume, a client, by anyone); event `end` when the run's job has ended, after its last state."""
    tenant_id = context.principal().tenant_id
    row = scada.require(context.get_db(), tenant_id, run_id)
    heartbeat_s = float(context.config()["streams"]["heartbeat_s"])
    body = events.values_stream(
        context.get_db(),
        context.streams(),
        tenant_id,
        run_id,
        row["job_id"],
        heartbeat_s,
        context.client_socket(),
        credential=pipeline.stream_recheck(),
    )
    return Response(
        body, mimetype="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


@blp.route("/runs/<string:run_id>/map")
@blp.arguments(MapArgsSchema, location="query")
@blp.response(200)
@requires("read")
def run_map(args: dict[str, Any], run_id: str) -> Any:
    """The Modbus register map and the OPC UA node map (JSON), or one of them as CSV for an HMI."""
    row = scada.require(context.get_db(), context.principal().tenant_id, run_id)
    if args["format"] == "csv":
        text = scada.maps_csv(row["plant"], args["protocol"])
        name = f"{row['plant']}-{args['protocol']}-map.csv"
        return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return Response(json.dumps(scada.maps(row["plant"])), mimetype="application/json")


@blp.route("/opcua/certificates")
@blp.arguments(CertificateListArgsSchema, location="query")
@blp.response(200, CertificatePageSchema)
@requires("admin")
def list_opcua_certificates(args: dict[str, Any]) -> dict[str, Any]:
    """The appliance's OPC UA client-certificate trust list: `trusted`, `issuer` (CA certificates
    that complete a chain) and `rejected` (presented by a client and refused: approve one with
    `POST …/{thumbprint}/trust`). Every live run honours changes from its next connection."""
    return opcua_certs.list_certificates(context.state_dir(), args["status"], args["limit"], args["after"])


@blp.route("/opcua/certificates/<string:thumbprint>")
@blp.response(200, CertificateSchema)
@requires("admin")
def get_opcua_certificate(thumbprint: str) -> dict[str, Any]:
    return opcua_certs.get_certificate(context.state_dir(), thumbprint)


@blp.route("/opcua/certificates/<string:thumbprint>/trust", methods=["POST"])
@blp.response(200, CertificateSchema)
@requires("admin")
def trust_opcua_certificate(thumbprint: str) -> dict[str, Any]:
    """Trust a client certificate (compare its `sha256` with the one the HMI shows first)."""
    return opcua_certs.set_status(context.state_dir(), thumbprint, "trusted")


@blp.route("/opcua/certificates/<string:thumbprint>/reject", methods=["POST"])
@blp.response(200, CertificateSchema)
@requires("admin")
def reject_opcua_certificate(thumbprint: str) -> dict[str, Any]:
    """Stop trusting a client certificate: its next connection is refused."""
    return opcua_certs.set_status(context.state_dir(), thumbprint, "rejected")


@blp.route("/opcua/certificates/<string:thumbprint>", methods=["DELETE"])
@blp.response(204)
@requires("admin")
def delete_opcua_certificate(thumbprint: str) -> None:
    """Forget a certificate; a client that presents it again lands in `rejected`."""
    opcua_certs.remove(context.state_dir(), thumbprint)


@blp.route("/runs/<string:run_id>/writes", methods=["POST"])
@blp.arguments(WriteInSchema)
@blp.response(200, WriteOutSchema)
@blp.alt_response(202, schema=WriteOutSchema, description="Handed to the run, not answered yet")
@requires("generate")
def write_tag(body: dict[str, Any], run_id: str) -> Any:
    """Write a setpoint, mode, command or manual output into the running plant, as an HMI would.
    The answer is `applied` with the value the plant stored and the value read back after it; an
    unknown or read-only tag or a value outside the tag's range is refused with 400 (and nothing
    is written)."""
    answer = scada.write(context.get_db(), context.principal().tenant_id, run_id, body["tag"], body["value"])
    return answer, (200 if answer["status"] == "applied" else 202)


def _csv(text: str, name: str) -> Response:
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blp.route("/runs/<string:run_id>/trend")
@blp.arguments(TrendArgsSchema, location="query")
@blp.response(200)
@requires("read")
def run_trend(args: dict[str, Any], run_id: str) -> Any:
    """Pens of a run over a window (default: the last ten minutes), at most `points` per pen by
    min/max decimation, with the attacks as labelled bands; `format=csv` gives every sample of
    exactly that window. Windows are at most a day; times are Unix seconds."""
    conn = context.get_db()
    row = scada.require(conn, context.principal().tenant_id, run_id)
    tags = [t.strip() for t in args["tags"].split(",") if t.strip()]
    start = None if args["start"] is None else int(args["start"] * 1000)
    end = None if args["end"] is None else int(args["end"] * 1000)
    last = None if args["last"] is None else int(args["last"] * 1000)
    if args["format"] == "csv":
        return _csv(trends.view_csv(conn, row, tags, start, end, last), f"{run_id}-trend.csv")
    view = trends.view(conn, row, tags, start, end, args["points"], last)
    return Response(json.dumps(view), mimetype="application/json")


@blp.route("/alarms/active")
@blp.arguments(ActiveAlarmArgsSchema, location="query")
@blp.response(200, ActiveAlarmsSchema)
@requires("read")
def active_alarms(args: dict[str, Any]) -> dict[str, Any]:
    """Alarms to act on (in alarm, or cleared but not acknowledged) by priority; shelved ones apart."""
    return alarms.active(context.get_db(), context.principal().tenant_id, args["run_id"])


@blp.route("/alarms")
@blp.arguments(AlarmHistoryArgsSchema, location="query")
@blp.response(200, AlarmPageSchema)
@requires("read")
def alarm_history(args: dict[str, Any]) -> Any:
    """Every alarm, newest first, filtered by run, tag, priority and time raised; `format=csv` for a file."""
    conn, tenant_id = context.get_db(), context.principal().tenant_id
    filters = {k: args[k] for k in ("run_id", "tag", "priority", "since", "until")}
    if args["format"] == "csv":
        return _csv(alarms.history_csv(conn, tenant_id, filters), "alarms.csv")
    return alarms.history(conn, tenant_id, filters, args["limit"], args["after"])


@blp.route("/alarms/<string:alarm_id>/ack", methods=["POST"])
@blp.arguments(AckInSchema)
@blp.response(200, AlarmSchema)
@requires("generate")
def ack_alarm(body: dict[str, Any], alarm_id: str) -> dict[str, Any]:
    """Acknowledge an alarm, with a note; a second acknowledgement is 409."""
    who = context.principal()
    return alarms.ack(context.get_db(), who.tenant_id, alarm_id, who.caller, body["note"])


@blp.route("/alarms/<string:alarm_id>/shelve", methods=["POST"])
@blp.arguments(ShelveInSchema)
@blp.response(200, AlarmSchema)
@requires("generate")
def shelve_alarm(body: dict[str, Any], alarm_id: str) -> dict[str, Any]:
    """Take an alarm off the active list for `minutes` (at most 480; 0 puts it back)."""
    who = context.principal()
    return alarms.shelve(context.get_db(), who.tenant_id, alarm_id, who.caller, body["minutes"], body["note"])
