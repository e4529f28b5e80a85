"""Live SCADA runs for the API: start (a live `simulate` job on the `sim` queue), stop, inject an
attack, read the latest values, and the maps an engineer needs to point an HMI at the run."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

from appliance import errors
from appliance.clock import now_iso
from appliance.errors import AppError
from appliance.ids import new_id
from appliance.jobs import service as jobs
from appliance.store import scada as q
from appliance.store.db import transaction

ATTACK_WAIT_S = 5.0
OPCUA_PATH = "/sealforge/"
_STATUS = {
    "created": "starting",
    "queued": "starting",
    "running": "running",
    "succeeded": "stopped",
    "failed": "failed",
    "canceled": "canceled",
}


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _check_ports(conn: sqlite3.Connection, host: str, ports: dict[str, int]) -> None:
    if len(set(ports.values())) != len(ports):
        raise errors.validation("opcua.port", "Modbus and OPC UA need different ports")
    held = q.ports_in_use(conn)
    for field, port in ports.items():
        if port in held or not _port_free(host, port):
            raise AppError(
                errors.PORT_IN_USE,
                f"{field} {port} is already in use on {host}",
                hint="Pick another port, or stop the run that holds it.",
            )


def start(
    conn: sqlite3.Connection,
    state_dir: Path,
    tenant_id: str,
    caller: str,
    body: dict[str, Any],
    host: str,
    max_attempts: int,
) -> dict[str, Any]:
    modbus, opcua = body.get("modbus"), body.get("opcua")
    if not modbus and not opcua:
        raise errors.validation("modbus", "serve at least one protocol: give `modbus` and/or `opcua`")
    ports = {f"{name}.port": cfg["port"] for name, cfg in (("modbus", modbus), ("opcua", opcua)) if cfg}
    _check_ports(conn, host, ports)
    run_id = new_id("run")
    live = {"run_id": run_id, "host": host, "speed": body["speed"]}
    if body.get("duration") is not None:
        live["duration"] = body["duration"]
    if modbus:
        live["modbus"] = modbus
    if opcua:
        live["opcua"] = opcua
    params = {k: body[k] for k in ("plant", "params", "scan_period", "sensors", "attacks") if body.get(k) is not None}
    with transaction(conn):
        q.insert_run(
            conn,
            {
                "id": run_id,
                "tenant_id": tenant_id,
                "job_id": None,
                "plant": body["plant"],
                "host": host,
                "modbus_port": modbus["port"] if modbus else None,
                "unit_id": modbus.get("unit_id", 1) if modbus else None,
                "opcua_port": opcua["port"] if opcua else None,
                "opcua_security": opcua.get("security") if opcua else None,
                "created_at": now_iso(),
            },
        )
    try:
        job = jobs.submit(
            conn,
            state_dir,
            tenant_id,
            caller,
            {
                "kind": "simulate",
                "params": {**params, "live": live},
                "seed": body.get("seed"),
                "queue": "sim",
                "description": body.get("description") or f"live {body['plant']} run",
            },
            max_attempts=1,
        )
    except Exception:
        with transaction(conn):
            conn.execute("DELETE FROM scada_runs WHERE id = ?", (run_id,))
        raise
    with transaction(conn):
        conn.execute("UPDATE scada_runs SET job_id = ? WHERE id = ?", (job["id"], run_id))
    return view(conn, require(conn, tenant_id, run_id))


def require(conn: sqlite3.Connection, tenant_id: str, run_id: str) -> dict[str, Any]:
    row = q.run(conn, run_id, tenant_id)
    if row is None or row["job_id"] is None:
        raise errors.not_found("run", run_id)
    return row


def view(conn: sqlite3.Connection, row: dict[str, Any]) -> dict[str, Any]:
    job = jobs.require_job(conn, row["tenant_id"], row["job_id"])
    latest = q.values(conn, row["id"])
    base = f"/v1/scada/runs/{row['id']}"
    return {
        "id": row["id"],
        "job_id": row["job_id"],
        "status": _STATUS[job["status"]],
        "plant": row["plant"],
        "modbus": {"host": row["host"], "port": row["modbus_port"], "unit_id": row["unit_id"]}
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
        "finished_at": job["finished_at"],
        "result": json.loads(job["result"]) if job["result"] else None,
        "error": {"code": job["error_code"], "message": job["error_message"]} if job["error_code"] else None,
        "values": json.loads(latest["data"]) if latest else None,
        "_links": {
            "self": base,
            "stop": f"{base}/stop",
            "attacks": f"{base}/attacks",
            "values": f"{base}/values",
            "map": f"{base}/map",
            "job": f"/v1/jobs/{row['job_id']}",
            "evidence": f"/v1/evidence/{row['job_id']}",
        },
    }


def _live_job(conn: sqlite3.Connection, row: dict[str, Any]) -> dict[str, Any]:
    job = jobs.require_job(conn, row["tenant_id"], row["job_id"])
    if job["status"] in ("succeeded", "failed", "canceled"):
        raise AppError(errors.CONFLICT, f"run {row['id']} has already ended ({_STATUS[job['status']]})")
    return job


def stop(conn: sqlite3.Connection, tenant_id: str, run_id: str) -> dict[str, Any]:
    """A running run stops at its next tick and keeps its recording; one not yet started is canceled."""
    row = require(conn, tenant_id, run_id)
    job = _live_job(conn, row)
    if job["status"] in ("created", "queued"):
        jobs.cancel(conn, tenant_id, job["id"])
    else:
        with transaction(conn):
            q.add_command(conn, run_id, "stop", {}, now_iso())
    return view(conn, row)


def attack(conn: sqlite3.Connection, tenant_id: str, run_id: str, spec: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Hand an attack to the running plant; wait up to 5 s for the worker's answer."""
    row = require(conn, tenant_id, run_id)
    if _live_job(conn, row)["status"] != "running":
        raise AppError(errors.CONFLICT, f"run {run_id} is not running yet", hint="Retry once its status is running.")
    with transaction(conn):
        seq = q.add_command(conn, run_id, "attack", spec, now_iso())
    deadline = time.monotonic() + ATTACK_WAIT_S
    while time.monotonic() < deadline:
        done = q.command(conn, seq)
        if done and done["done_at"]:
            if done["error"]:
                problem = json.loads(done["error"])
                field = problem["field"].replace("attack", "", 1).lstrip(".") or "body"
                raise errors.validation(field, problem["message"])
            return {"status": "active", "scenario": json.loads(done["result"])}, 201
        time.sleep(0.05)
    return {"status": "pending", "command": seq}, 202


def latest_values(conn: sqlite3.Connection, run_id: str) -> dict[str, Any] | None:
    return q.values(conn, run_id)


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
