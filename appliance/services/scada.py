"""Live SCADA runs: reserve one (checked against the policy; `appliance.jobs.live_runs` then submits
its live `simulate` job on the `sim` queue), ask it to stop, inject an attack, read the latest values,
and the maps an engineer needs to point an HMI at the run. Services sit below the job engine, so
submitting and canceling the job happen in `appliance.jobs.live_runs`, not here.

What a run may take is decided here, at submit, from `[scada]`: the address it binds (one the
operator allows), its ports (free, and held by no other active run) and a slot (at most `max_runs`
active runs, `max_runs_per_tenant` per tenant). Those checks and the insert of the run share one
write transaction, so concurrent submits cannot overshoot a limit or share a port; a request over
a limit is refused at once (409), never left waiting behind other runs.

A running run can be paused and resumed (docs/live-scada.md): the transition is checked and
recorded (`scada_runs.paused_at`) in one write transaction with the command for the worker, so it
is never applied twice; while paused, the API refuses writes and attacks as the protocols do.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import socket
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from appliance import errors
from appliance.clock import iso, now_iso
from appliance.errors import AppError
from appliance.ids import new_id
from appliance.store import jobs as jobs_store
from appliance.store import pages
from appliance.store import scada as scada_store
from appliance.store.db import transaction

ATTACK_WAIT_S = 5.0
PENDING_S = 60.0  # a run row without its job yet counts as active for this long (a submit under way)
OPCUA_PATH = "/sealforge/"
_STATUS = {
    "created": "starting",
    "queued": "starting",
    "running": "running",
    "succeeded": "stopped",
    "failed": "failed",
    "canceled": "canceled",
}


def _hosts(value: Any) -> list[str]:
    """`allowed_hosts` from TOML (a list) or from SEALFORGE_SCADA_ALLOWED_HOSTS (comma-separated)."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return [str(item).strip() for item in items if str(item).strip()]


@dataclass(frozen=True)
class LivePolicy:
    """The `[scada]` settings a submit is checked against."""

    default_host: str
    allowed_hosts: tuple[str, ...]
    max_runs: int
    max_runs_per_tenant: int

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> LivePolicy:
        default = str(section.get("bind_host", "127.0.0.1")).strip()
        allowed = tuple(dict.fromkeys([default, *_hosts(section.get("allowed_hosts"))]))
        for host in allowed:
            try:
                ipaddress.IPv4Address(host)
            except ValueError as exc:
                raise AppError(
                    errors.UNAVAILABLE,
                    f"[scada] bind_host / allowed_hosts: {host!r} is not an IPv4 address",
                    hint="The administrator must list addresses such as 192.168.10.5 or 0.0.0.0.",
                ) from exc
        return cls(default, allowed, int(section.get("max_runs", 6)), int(section.get("max_runs_per_tenant", 3)))

    def choose(self, host: str | None) -> str:
        if host is None:
            return self.default_host
        if host not in self.allowed_hosts:
            raise errors.validation(
                "host",
                f"{host!r} is not an address live runs may bind; allowed: {', '.join(self.allowed_hosts)}"
                " ([scada] allowed_hosts)",
            )
        return host


def _bind_error(host: str, port: int) -> OSError | None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc
    return None


def _check_slots(conn: sqlite3.Connection, tenant_id: str, policy: LivePolicy, pending_since: str) -> None:
    total, mine = scada_store.active_runs(conn, tenant_id, pending_since)
    for used, limit, key, whose in (
        (total, policy.max_runs, "max_runs", "the appliance"),
        (mine, policy.max_runs_per_tenant, "max_runs_per_tenant", "this tenant"),
    ):
        if used >= limit:
            raise AppError(
                errors.LIVE_RUN_LIMIT,
                f"{whose} already has {used} live run(s) starting or running; the limit is {limit} ([scada] {key})",
                hint=f"Stop a run first, or raise [scada] {key} in the appliance's config.",
            )


def _check_ports(conn: sqlite3.Connection, host: str, ports: dict[str, int], pending_since: str) -> None:
    held = scada_store.ports_in_use(conn, pending_since)
    for field, port in ports.items():
        if port in held:
            raise AppError(
                errors.PORT_IN_USE,
                f"{field} {port} is held by another live run",
                hint="Pick another port, or stop the run that holds it.",
            )
        problem = _bind_error(host, port)
        if problem is not None and problem.errno == errno.EADDRNOTAVAIL:
            raise errors.validation("host", f"{host} is not an address of this appliance now")
        if problem is not None:
            raise AppError(
                errors.PORT_IN_USE,
                f"{field} {port} cannot be bound on {host}: {problem.strerror or problem}",
                hint="Pick another port (ports below 1024 need privileges), or stop what holds it.",
            )


def reserve(
    conn: sqlite3.Connection, tenant_id: str, body: dict[str, Any], policy: LivePolicy
) -> tuple[str, dict[str, Any]]:
    """Check ``body`` against ``policy`` and insert the run and its endpoints (no job yet).

    Returns the run id and the `simulate` job request to record for it. ``appliance.jobs.live_runs``
    calls this, records the job and calls ``attach_job`` inside one transaction of its own.
    """
    modbus, opcua = body.get("modbus"), body.get("opcua")
    if not modbus and not opcua:
        raise errors.validation("modbus", "serve at least one protocol: give `modbus` and/or `opcua`")
    host = policy.choose(body.get("host"))
    served = {name: cfg["port"] for name, cfg in (("modbus", modbus), ("opcua", opcua)) if cfg}
    if len(set(served.values())) != len(served):
        raise errors.validation("opcua.port", "Modbus and OPC UA need different ports")
    run_id = new_id("run")
    live = {"run_id": run_id, "host": host, "speed": body["speed"]}
    if body.get("duration") is not None:
        live["duration"] = body["duration"]
    if modbus:
        live["modbus"] = modbus
    if opcua:
        live["opcua"] = opcua
    params = {k: body[k] for k in ("plant", "params", "scan_period", "sensors", "attacks") if body.get(k) is not None}
    created = now_iso()
    pending_since = iso(time.time() - PENDING_S)
    with transaction(conn):
        _check_slots(conn, tenant_id, policy, pending_since)
        _check_ports(conn, host, {f"{name}.port": port for name, port in served.items()}, pending_since)
        scada_store.insert_run(
            conn,
            {
                "id": run_id,
                "tenant_id": tenant_id,
                "job_id": None,
                "plant": body["plant"],
                "host": host,
                "modbus_port": modbus["port"] if modbus else None,
                "unit_id": modbus.get("unit_id", 1) if modbus else None,
                "modbus_writes": bool(modbus.get("writes", False)) if modbus else False,
                "opcua_port": opcua["port"] if opcua else None,
                "opcua_security": opcua.get("security") if opcua else None,
                "created_at": created,
            },
        )
        for name, port in served.items():
            scada_store.insert_endpoint(conn, run_id, name, host, port, created)
    job_request = {
        "kind": "simulate",
        "params": {**params, "live": live},
        "seed": body.get("seed"),
        "queue": "sim",
        "description": body.get("description") or f"live {body['plant']} run",
    }
    return run_id, job_request


def attach_job(conn: sqlite3.Connection, run_id: str, job_id: str) -> None:
    with transaction(conn):
        scada_store.set_run_job(conn, run_id, job_id)


def require(conn: sqlite3.Connection, tenant_id: str, run_id: str) -> dict[str, Any]:
    row = scada_store.get_run(conn, run_id, tenant_id)
    if row is None or row["job_id"] is None:
        raise errors.not_found("run", run_id)
    return row


def _endpoints(conn: sqlite3.Connection, run_id: str, ended: bool) -> list[dict[str, Any]]:
    """Each endpoint as the worker last saw it, with its clients connected now; `closed` (and no
    client) once the run has ended."""
    out = []
    for ep in scada_store.endpoints(conn, run_id):
        state = "closed" if ended and ep["state"] != "failed" else ep["state"]
        out.append(
            {
                "protocol": ep["protocol"],
                "address": ep["address"],
                "port": ep["port"],
                "state": state,
                "error": ep["error"],
                "since": ep["updated_at"],
                "clients": 0 if ended else int(ep["clients"] or 0),
            }
        )
    return out


def _job(conn: sqlite3.Connection, row: dict[str, Any]) -> dict[str, Any]:
    job = jobs_store.get_job(conn, row["job_id"], row["tenant_id"])
    if job is None:
        raise errors.not_found("job", row["job_id"])
    return job


def _status(job: dict[str, Any], row: dict[str, Any], endpoints: list[dict[str, Any]]) -> str:
    """`running` only once the job runs and every endpoint accepts; `paused` while it is paused."""
    status = _STATUS[job["status"]]
    if status == "running" and any(ep["state"] != "accepting" for ep in endpoints):
        return "starting"
    if status == "running" and row.get("paused_at"):
        return "paused"
    return status


def view(conn: sqlite3.Connection, row: dict[str, Any]) -> dict[str, Any]:
    """The run as the API shows it (its status: see ``_status``)."""
    job = _job(conn, row)
    latest = scada_store.values(conn, row["id"])
    base = f"/v1/scada/runs/{row['id']}"
    endpoints = _endpoints(conn, row["id"], job["status"] in ("succeeded", "failed", "canceled"))
    status = _status(job, row, endpoints)
    return {
        "id": row["id"],
        "job_id": row["job_id"],
        "status": status,
        "plant": row["plant"],
        "host": row["host"],
        "endpoints": endpoints,
        "modbus": {
            "host": row["host"],
            "port": row["modbus_port"],
            "unit_id": row["unit_id"],
            "writes": bool(row["modbus_writes"]),
        }
        if row["modbus_port"]
        else None,
        "opcua": {
            "endpoint": f"opc.tcp://{row['host']}:{row['opcua_port']}{OPCUA_PATH}",
            "security": row["opcua_security"],
        }
        if row["opcua_port"]
        else None,
        "created_at": row["created_at"],
        "started_at": job["started_at"],
        "paused_at": row.get("paused_at") if status == "paused" else None,
        "finished_at": job["finished_at"],
        "result": json.loads(job["result"]) if job["result"] else None,
        "error": {"code": job["error_code"], "message": job["error_message"]} if job["error_code"] else None,
        "values": json.loads(latest["data"]) if latest else None,
        "_links": {
            "self": base,
            "stop": f"{base}/stop",
            "pause": f"{base}/pause",
            "resume": f"{base}/resume",
            "writes": f"{base}/writes",
            "trend": f"{base}/trend",
            "attacks": f"{base}/attacks",
            "values": f"{base}/values",
            "map": f"{base}/map",
            "job": f"/v1/jobs/{row['job_id']}",
            "evidence": f"/v1/evidence/{row['job_id']}",
        },
    }


def stream_states(conn: sqlite3.Connection, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The state a run's values stream carries (event `state`), per run, in one read: its status as
    ``view`` gives it, ``paused_at`` while paused, and per protocol the endpoint's state and clients
    connected (``closed`` and 0 once it has ended). What a page needs to follow a pause, a resume,
    a stop or a client, whoever caused it."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in scada_store.run_states(conn, run_ids):
        grouped.setdefault(row["run_id"], []).append(row)
    out: dict[str, dict[str, Any]] = {}
    for run_id, rows in grouped.items():
        first = rows[0]
        ended = first["job_status"] in ("succeeded", "failed", "canceled")
        endpoints = {
            row["protocol"]: {
                "state": "closed" if ended and row["state"] != "failed" else row["state"],
                "clients": 0 if ended else int(row["clients"] or 0),
            }
            for row in rows
            if row["protocol"] is not None
        }
        status = _status(
            {"status": first["job_status"]},
            first,
            [{"state": ep["state"]} for ep in endpoints.values()],
        )
        out[run_id] = {
            "status": status,
            "paused_at": first["paused_at"] if status == "paused" else None,
            "endpoints": endpoints,
        }
    return out


def listing(conn: sqlite3.Connection, tenant_id: str, limit: int, after: str | None) -> dict[str, Any]:
    """One page of the tenant's runs, as the API lists them (a run whose submit is under way is left out)."""
    result = pages.page(conn, "scada_runs", {"tenant_id": tenant_id}, limit=limit, after=after)
    result.data = [row for row in result.data if row["job_id"] is not None]
    return result.listing(lambda row: view(conn, row))


def live_job(conn: sqlite3.Connection, row: dict[str, Any]) -> dict[str, Any]:
    """The run's job; 409 once it has ended."""
    job = _job(conn, row)
    if job["status"] in ("succeeded", "failed", "canceled"):
        raise AppError(errors.CONFLICT, f"run {row['id']} has already ended ({_STATUS[job['status']]})")
    return job


def _not_paused(row: dict[str, Any], doing: str) -> None:
    if row.get("paused_at"):
        raise AppError(
            errors.LIVE_RUN_STATE,
            f"run {row['id']} is paused: it takes no {doing} until it is resumed",
            hint=f"POST /v1/scada/runs/{row['id']}/resume first.",
        )


def set_paused(conn: sqlite3.Connection, tenant_id: str, run_id: str, pause: bool) -> tuple[dict[str, Any], bool]:
    """Pause or resume a running run: check the transition and record it with the command for the
    worker in one transaction, then wait up to 5 s for the worker to apply it. Returns the run and
    whether the worker has applied it (False: handed over, not applied yet)."""
    verb = "pause" if pause else "resume"
    with transaction(conn):
        row = require(conn, tenant_id, run_id)
        job = _job(conn, row)
        status = _status(job, row, _endpoints(conn, run_id, job["status"] in ("succeeded", "failed", "canceled")))
        wanted = "running" if pause else "paused"
        if status != wanted:
            why = {"running": "it is running", "paused": "it is already paused", "starting": "it has not started yet"}
            raise AppError(
                errors.LIVE_RUN_STATE,
                f"cannot {verb} run {run_id}: {why.get(status, f'it has ended ({status})')}",
                hint="Pause a running run; resume a paused one.",
            )
        at = now_iso()
        scada_store.set_paused(conn, run_id, at if pause else None)
        seq = scada_store.add_command(conn, run_id, verb, {}, at)
    applied = _answer(conn, seq) is not None
    return view(conn, require(conn, tenant_id, run_id)), applied


def request_stop(conn: sqlite3.Connection, run_id: str) -> None:
    """Ask the running plant to stop at its next tick (it keeps its recording)."""
    with transaction(conn):
        scada_store.add_command(conn, run_id, "stop", {}, now_iso())


def attack(conn: sqlite3.Connection, tenant_id: str, run_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Hand an attack to the running plant; wait up to 5 s for the worker's answer.

    ``status`` is `active` once the plant applied it, `pending` when it is handed over but not applied yet.
    """
    row = require(conn, tenant_id, run_id)
    if live_job(conn, row)["status"] != "running":
        raise AppError(errors.CONFLICT, f"run {run_id} is not running yet", hint="Retry once its status is running.")
    _not_paused(row, "attack")
    with transaction(conn):
        seq = scada_store.add_command(conn, run_id, "attack", spec, now_iso())
    done = _answer(conn, seq)
    if done is None:
        return {"status": "pending", "command": seq}
    return {"status": "active", "scenario": done}


def _answer(conn: sqlite3.Connection, seq: int) -> Any:
    """The worker's result for command ``seq`` (None if it has not answered within 5 s); its
    refusal becomes a 400 naming the field it found at fault."""
    deadline = time.monotonic() + ATTACK_WAIT_S
    while time.monotonic() < deadline:
        done = scada_store.get_command(conn, seq)
        if done and done["done_at"]:
            if done["error"]:
                problem = json.loads(done["error"])
                if problem.get("paused"):  # paused between the API's check and the worker's turn
                    raise AppError(errors.LIVE_RUN_STATE, problem["message"], hint="Resume the run first.")
                field = problem["field"].replace("attack", "", 1).lstrip(".") or "body"
                raise errors.validation(field, problem["message"])
            return json.loads(done["result"])
        time.sleep(0.05)
    return None


def check_write(plant: str, tag: Any, value: Any) -> None:
    """Refuse before the plant does: an unknown or read-only tag, or a value outside the tag's range
    (the worker checks again with the plant's own rules, which are the ones that count)."""
    from simulators.plants.registry import get_plant

    spec = get_plant(plant).tag_table().by_name.get(tag) if isinstance(tag, str) else None
    if spec is None:
        raise errors.validation("tag", f"not a tag of the {plant} plant")
    if not spec.writable:
        raise errors.validation("tag", f"{tag} is a read-only {spec.role} tag")
    if spec.is_bool:
        if not (isinstance(value, bool) or (isinstance(value, int | float) and value in (0, 1))):
            raise errors.validation("value", "a boolean tag takes true/false or 0/1")
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise errors.validation("value", "a number")
    if not spec.low <= value <= spec.high:
        span = f"{spec.low:g} to {spec.high:g} {spec.unit}".rstrip()
        raise errors.validation("value", f"out of range: {tag} takes {span}")


def write(conn: sqlite3.Connection, tenant_id: str, run_id: str, tag: Any, value: Any) -> dict[str, Any]:
    """Write a setpoint (or mode, command, manual output) into the running plant, as an HMI would
    over Modbus or OPC UA, and wait up to 5 s for the worker's answer: ``applied`` with the value
    stored and the value read back after the write (a loop in AUTO may already have moved an
    output), or ``pending`` when the worker has not answered yet. A refusal is a 400, never success."""
    row = require(conn, tenant_id, run_id)
    check_write(row["plant"], tag, value)
    if live_job(conn, row)["status"] != "running":
        raise AppError(errors.CONFLICT, f"run {run_id} is not running yet", hint="Retry once its status is running.")
    _not_paused(row, "write")
    with transaction(conn):
        seq = scada_store.add_command(conn, run_id, "write", {"tag": tag, "value": value}, now_iso())
    done = _answer(conn, seq)
    if done is None:
        return {"status": "pending", "tag": tag, "requested": value, "command": seq}
    return {"status": "applied", "tag": tag, "requested": value, **done}


def latest_values(conn: sqlite3.Connection, run_id: str) -> dict[str, Any] | None:
    return scada_store.values(conn, run_id)


def maps(plant: str) -> dict[str, Any]:
    from simulators.protocols.node_map import NodeMap
    from simulators.protocols.register_map import RegisterMap

    return {
        "plant": plant,
        "modbus": RegisterMap.for_plant(plant).to_dict(),
        "opcua": NodeMap.for_plant(plant).to_dict(),
    }


def maps_csv(plant: str, which: str) -> str:
    from simulators.protocols.node_map import NodeMap
    from simulators.protocols.register_map import RegisterMap

    return RegisterMap.for_plant(plant).to_csv() if which == "modbus" else NodeMap.for_plant(plant).to_csv()


def plants() -> list[str]:
    """The plants a live run can serve."""
    from simulators.plants.registry import PLANTS

    return sorted(PLANTS)


def techniques() -> list[dict[str, Any]]:
    """The attack library: each technique, what it targets and what its magnitude means."""
    from simulators.attacks.techniques import catalogue

    return catalogue()
