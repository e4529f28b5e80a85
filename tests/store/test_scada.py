"""`appliance.store.scada`: which runs are active (and so hold ports and slots), commands, values."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from appliance.ids import new_id
from appliance.store import scada as scada_store
from appliance.store.db import transaction
from tests.store.test_jobs import _move, _record

CUTOFF = "2025-01-01T00:00:00Z"


def _run(conn: sqlite3.Connection, tenant_id: str, port: int, created_at: str, job_id: str | None = None) -> str:
    run_id = new_id("run")
    row = {
        "id": run_id,
        "tenant_id": tenant_id,
        "job_id": job_id,
        "plant": "water",
        "host": "127.0.0.1",
        "modbus_port": port,
        "unit_id": 1,
        "modbus_writes": 0,
        "opcua_port": port + 1,
        "opcua_security": "none",
        "created_at": created_at,
    }
    with transaction(conn):
        scada_store.insert_run(conn, row)
    return run_id


def test_active_runs_and_their_ports(conn: sqlite3.Connection, acme: dict[str, Any], globex: dict[str, Any]) -> None:
    _run(conn, acme["id"], 5000, "2025-06-01T00:00:00Z")  # still being submitted: active
    _run(conn, acme["id"], 5010, "2024-06-01T00:00:00Z")  # a submit that died long ago: not active
    live_job, done_job = _record(conn, globex["id"]), _record(conn, acme["id"])
    _run(conn, globex["id"], 5020, "2024-06-01T00:00:00Z", job_id=live_job["id"])  # job created: active
    done_run = _run(conn, acme["id"], 5030, "2025-06-01T00:00:00Z")
    with transaction(conn):
        scada_store.set_run_job(conn, done_run, done_job["id"])
    _move(conn, done_job["id"], "canceled")  # its job ended: not active, even though young
    assert scada_store.ports_in_use(conn, CUTOFF) == {5000, 5001, 5020, 5021}
    assert scada_store.active_runs(conn, acme["id"], CUTOFF) == (2, 1)
    assert scada_store.active_runs(conn, globex["id"], CUTOFF) == (2, 1)
    assert scada_store.active_runs(conn, "ten_nobody", CUTOFF) == (2, 0)


def test_get_run_is_tenant_scoped(conn: sqlite3.Connection, acme: dict[str, Any], globex: dict[str, Any]) -> None:
    run_id = _run(conn, acme["id"], 5000, CUTOFF)
    assert scada_store.get_run(conn, run_id, acme["id"])["plant"] == "water"  # type: ignore[index]
    assert scada_store.get_run(conn, run_id, globex["id"]) is None
    assert scada_store.get_run(conn, run_id)["tenant_id"] == acme["id"]  # type: ignore[index]


def test_endpoints_start_as_starting_and_change_state(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    run_id = _run(conn, acme["id"], 5000, CUTOFF)
    with transaction(conn):
        scada_store.insert_endpoint(conn, run_id, "opcua", "127.0.0.1", 5001, "t0")
        scada_store.insert_endpoint(conn, run_id, "modbus", "127.0.0.1", 5000, "t0")
        scada_store.set_endpoint(conn, run_id, "modbus", "failed", "t1", error="port taken")
    modbus, opcua = scada_store.endpoints(conn, run_id)
    assert (modbus["protocol"], modbus["state"], modbus["error"], modbus["updated_at"]) == (
        "modbus",
        "failed",
        "port taken",
        "t1",
    )
    assert (opcua["protocol"], opcua["state"], opcua["error"]) == ("opcua", "starting", None)


def test_commands_are_pending_in_order_until_finished(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    run_id, other = _run(conn, acme["id"], 5000, CUTOFF), _run(conn, acme["id"], 5010, CUTOFF)
    with transaction(conn):
        first = scada_store.add_command(conn, run_id, "attack", {"technique": "T0831"}, "t0")
        second = scada_store.add_command(conn, run_id, "stop", {}, "t1")
        scada_store.add_command(conn, other, "stop", {}, "t1")
    assert [c["seq"] for c in scada_store.pending_commands(conn, run_id)] == [first, second]
    with transaction(conn):
        scada_store.finish_command(conn, first, "t2", {"started": True}, None)
        scada_store.finish_command(conn, second, "t3", None, "already stopping")
    assert scada_store.pending_commands(conn, run_id) == []
    done = scada_store.get_command(conn, first)
    assert done is not None and json.loads(done["result"]) == {"started": True} and done["done_at"] == "t2"
    failed = scada_store.get_command(conn, second)
    assert failed is not None and failed["result"] is None and failed["error"] == "already stopping"
    assert len(scada_store.pending_commands(conn, other)) == 1


def test_values_keep_only_the_latest(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    run_id = _run(conn, acme["id"], 5000, CUTOFF)
    assert scada_store.values(conn, run_id) is None
    with transaction(conn):
        scada_store.put_values(conn, run_id, 1, "t1", {"level": 1.5})
        scada_store.put_values(conn, run_id, 2, "t2", {"level": 2.5})
    row = scada_store.values(conn, run_id)
    assert row is not None and (row["seq"], row["at"]) == (2, "t2")
    assert json.loads(row["data"]) == {"level": 2.5}
