"""Live SCADA runs: a `simulate` job whose params carry `live` runs a plant in real time on the
`sim` queue, served over Modbus TCP and OPC UA, until its duration ends or a stop command comes.

The API and the worker share only the database: the API leaves commands (stop, attack) in
`scada_commands`, and the worker applies them from the run's tick, publishes the latest values to
`scada_values` (the SSE stream reads them), and at the end turns the recording into artifacts,
which are sealed like any job's.

The job is `running` as soon as a worker claims it, but clients must not be told to connect before
the servers listen: once they have started, the worker connects to each endpoint over TCP and
records it in `scada_endpoints` as `accepting` (or `failed`, with the reason); the API shows the
run as `running` only when every endpoint accepts. From then on the tick also counts the clients
each endpoint has connected and records the count in `scada_endpoints` when it changes.

A `pause` command freezes the plant (`LiveRun.pause`) and publishes the values it froze at (if the
last sample is older), before the API hears the answer; while paused the tick applies commands but
publishes no sample and writes no trend history, since nothing changes.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from appliance.clock import now_iso
from appliance.config import load_config
from appliance.kinds.base import Estimate, JobContext, JobFailed, ParamError
from appliance.services import alarms, opcua_certs, scada, trends, webhooks
from appliance.services.login_throttle import LoginThrottle
from appliance.services.principal import effective_scopes
from appliance.services.tokens import verify_user_password
from appliance.store import scada as scada_store
from appliance.store.db import transaction
from appliance.store.open import open_db

LIVE_FIELDS = frozenset({"run_id", "duration", "speed", "host", "modbus", "opcua"})
PLANT_FIELDS = frozenset({"plant", "params", "scan_period", "sensors", "attacks", "start_time", "live"})
MAX_DURATION_S = 30 * 86400
VALUES_EVERY_S = 0.1  # at most ten samples a second reach the values streams
HISTORY_EVERY_S = 1.0  # one row a second for trends (services.trends)


def check(params: dict[str, Any]) -> None:
    """Validate a live run's params by building its plant (cheap) and checking the live options."""
    from simulators.errors import SimulationParamError
    from simulators.live import LivePlant

    unknown = sorted(set(params) - PLANT_FIELDS)
    if unknown:
        raise ParamError(unknown[0], "unknown field for a live run")
    live = params["live"]
    if not isinstance(live, dict) or set(live) - LIVE_FIELDS:
        raise ParamError("live", f"an object with {', '.join(sorted(LIVE_FIELDS))}")
    duration = live.get("duration")
    if duration is not None and (not isinstance(duration, int | float) or not 1 <= duration <= MAX_DURATION_S):
        raise ParamError(
            "live.duration", f"seconds between 1 and {MAX_DURATION_S}, or leave it out to run until stopped"
        )
    try:
        LivePlant(
            params.get("plant", ""),
            params.get("params"),
            scan_period=params.get("scan_period", 1.0),
            sensors=params.get("sensors"),
            attacks=params.get("attacks"),
        )
    except SimulationParamError as exc:
        raise ParamError(exc.field, exc.message) from exc


def estimate(params: dict[str, Any]) -> Estimate:
    duration = float(params["live"].get("duration") or 3600)
    rows = int(duration / float(params.get("scan_period", 1.0)) * float(params["live"].get("speed", 1.0)))
    return Estimate(rows=rows, seconds=duration)


# Appliance scopes nest (admin ⊇ generate ⊇ read); each maps to the OPC UA role that matches.
SCOPE_ROLES = (("admin", "admin"), ("generate", "operator"), ("read", "viewer"))


def opcua_role(scopes: str) -> str | None:
    """The OPC UA role for a user's comma-separated scopes: the widest scope wins."""
    held = effective_scopes([s.strip() for s in scopes.split(",")])  # `operator` holds `admin`
    return next((role for scope, role in SCOPE_ROLES if scope in held), None)


def _authenticator(state_dir: Path, tenant_id: str) -> Any:
    """OPC UA logins are the appliance's users of the run's tenant (email + password), throttled
    with the API's login (one count per account and per source address). The server runs this in
    a thread, never on its event loop; a throttled login is refused before any hashing."""
    from simulators.protocols.opcua_auth import LoginThrottled, Role

    throttle = LoginThrottle(state_dir, load_config(overrides={"server": {"state_dir": str(state_dir)}}))

    def authenticate(username: str, password: str, source: str) -> Role | None:
        email = username.strip().lower()
        if throttle.retry_after(email, source) > 0:
            raise LoginThrottled(email)
        user = verify_user_password(open_db(state_dir), email, password)
        role = opcua_role(user["scopes"]) if user is not None and user["tenant_id"] == tenant_id else None
        if role is None:
            throttle.record_failure(email, source)
            return None
        throttle.record_success(email, source)
        return Role(role)

    return authenticate


def _security(ctx: JobContext, mode: str) -> Any:
    """`none`: the anonymous read-only endpoint only; `sign_encrypt`: the secure endpoints with
    appliance users; `both`: the two. Client certificates are checked against the appliance's
    trust list (`<state dir>/pki/opcua`, see services.opcua_certs)."""
    from simulators.protocols.opcua import OpcUaSecurity

    return OpcUaSecurity(
        allow_none=mode in ("none", "both"),
        sign_encrypt=mode in ("sign_encrypt", "both"),
        cert_dir=ctx.state_dir / "keys" / "opcua",
        authenticate=_authenticator(ctx.state_dir, ctx.tenant_id),
        pki_dir=opcua_certs.pki_dir(ctx.state_dir),
    )


def _history_values(ctx: JobContext) -> int:
    """`[scada] opcua_history_values`: the values of each variable the OPC UA server keeps for
    HistoryRead, so a historian client (the appliance's own OPC UA connector) can import a range."""
    cfg = load_config(overrides={"server": {"state_dir": str(ctx.state_dir)}})
    return max(0, int(cfg.get("scada", {}).get("opcua_history_values", 0)))


class _Commands:
    """Applies the API's commands on each tick and publishes values at most every 0.1 s."""

    def __init__(self, ctx: JobContext, run_id: str, duration: float | None) -> None:
        self.ctx, self.run_id, self.duration = ctx, run_id, duration
        self.stop = False
        self.started = time.monotonic()
        self.last_values = 0.0
        self.seq = 0
        self.alarms: _Alarms | None = None
        self.tag_names: list[str] = []
        self.last_history = 0.0
        self.history_rows = 0
        self.rollup = trends.MinuteRollup()
        self.clients: dict[str, int] = {}
        self.published_scan = -1

    def tick(self, run: Any) -> None:
        from simulators.errors import SimulationParamError

        conn = open_db(self.ctx.state_dir)
        for cmd in scada_store.pending_commands(conn, self.run_id):
            result, error, event = None, None, None
            if cmd["command"] == "stop":
                self.stop = True
                result = {"stopping": True}
            elif cmd["command"] == "write":
                result, error = _write(run, json.loads(cmd["payload"]))
            elif cmd["command"] in ("pause", "resume"):
                snap = run.pause() if cmd["command"] == "pause" else run.resume()
                if run.paused and self.published_scan != snap["scan"]:
                    self._publish(conn, run, False)  # the values it froze at, before the API hears it
                result = {"paused": run.paused, "scan": snap["scan"], "timestamp": snap["timestamp"]}
                event = f"scada.run.{cmd['command']}d"
            elif run.paused:
                error = json.dumps({"paused": True, "message": f"run {self.run_id} is paused: it takes no attack"})
            else:
                try:
                    result = run.inject_attack(json.loads(cmd["payload"]))
                except SimulationParamError as exc:
                    error = json.dumps({"field": exc.field, "message": exc.message})
            with transaction(conn):
                scada_store.finish_command(conn, cmd["seq"], now_iso(), result, error)
                if event is not None:
                    webhooks.emit(conn, self.ctx.tenant_id, event, self._view(conn))
        clients = run.clients()
        if clients != self.clients:
            self.clients = clients
            with transaction(conn):
                scada_store.set_clients(conn, self.run_id, clients)
        if run.paused:
            self.ctx.progress(self._fraction(), rows=run.scans, message=f"live: paused at scan {run.scans:,}")
            return
        now = time.monotonic()
        if now - self.last_values >= VALUES_EVERY_S:
            self.last_values = now
            self._publish(conn, run, now - self.last_history >= HISTORY_EVERY_S)
        self.ctx.progress(self._fraction(), rows=run.scans, message=f"live: {run.scans:,} scans")

    def _publish(self, conn: Any, run: Any, history: bool) -> None:
        """A sample for the values streams and alarms, and (``history``) a second of trend history."""
        self.seq += 1
        snapshot = run.values()
        self.published_scan = snapshot["scan"]
        if self.alarms is None:
            self.alarms = _Alarms(self.run_id, run.plant.plant_cls)
            self.tag_names = [c.name for c in run.plant.table.columns]
        with transaction(conn):
            scada_store.put_values(conn, self.run_id, self.seq, now_iso(), snapshot)
            changes = self.alarms.changes(snapshot)
            for event, alarm in changes:
                webhooks.emit(conn, self.ctx.tenant_id, event, alarm)
            alarms.record(conn, self.ctx.tenant_id, self.run_id, (alarm for _, alarm in changes))
            if history:
                self.last_history = time.monotonic()
                self.history_rows += 1
                trim = self.history_rows % 60 == 0
                trends.record(conn, self.run_id, self.tag_names, snapshot, trim, self.rollup)

    def _view(self, conn: Any) -> Any:
        """The run as the API shows it, built only if a webhook endpoint wants the event."""
        return lambda: _run_view(conn, self.ctx.tenant_id, self.run_id)

    def _fraction(self) -> float:
        """How much of the duration has passed (wall time: a paused run holds its ports meanwhile)."""
        elapsed = time.monotonic() - self.started
        return min(0.99, elapsed / self.duration) if self.duration else 0.0


def _write(run: Any, payload: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """A setpoint write from the API: the value the plant stored and the value read back, or the
    plant's refusal (unknown or read-only tag: field `tag`; bad value: field `value`)."""
    from simulators.errors import PlantPausedError, SimulationParamError, TagValueError

    try:
        stored = run.plant.write(payload["tag"], payload["value"])
    except PlantPausedError as exc:
        return None, json.dumps({"paused": True, "message": exc.message})
    except SimulationParamError as exc:
        field = "value" if isinstance(exc, TagValueError) else "tag"
        return None, json.dumps({"field": field, "message": exc.message})
    return {"value": stored, "readback": run.plant.read_tag(payload["tag"])}, None


class _Alarms:
    """The plant's alarm tags (boolean `status` tags: high/low alarms and interlock trips), and
    which of them changed since the last published sample: `scada.alarm.raised` / `cleared` events.
    Seen at the values' rate (ten samples a second), so an alarm shorter than that may go unseen."""

    def __init__(self, run_id: str, plant_cls: Any) -> None:
        self.run_id = run_id
        self.plant_name = str(plant_cls.name)
        self.tags = {t.name: t.description for t in plant_cls.TAGS if t.role == "status" and t.kind == "bool"}
        self.raised: set[str] = set()

    def changes(self, snapshot: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        values = snapshot.get("values") or {}
        now_raised = {name for name in self.tags if bool(values.get(name))}
        found = []
        for name in sorted(now_raised ^ self.raised):
            state = "raised" if name in now_raised else "cleared"
            alarm = {
                "run_id": self.run_id,
                "plant": self.plant_name,
                "tag": name,
                "description": self.tags[name],
                "state": state,
                "scan": snapshot.get("scan"),
                "timestamp": snapshot.get("timestamp"),
                "active_attacks": snapshot.get("active_attacks", []),
                "_links": {"run": f"/v1/scada/runs/{self.run_id}"},
            }
            found.append((f"scada.alarm.{state}", alarm))
        self.raised = now_raised
        return found


def prepare_worker() -> None:
    """Load what a live run needs before the first one comes (run by a `sim` worker at start, in
    the background): the protocol libraries and OPC UA's standard address space, about 3-6 s of
    CPU that would otherwise sit between a submit and its endpoints accepting connections.

    It runs at the lowest CPU priority (Linux sets niceness per thread), so on a small box it uses
    only what the API and the other consumers starting beside it leave idle."""
    import importlib
    import threading

    from simulators.protocols import opcua_space

    with contextlib.suppress(OSError):  # not permitted here: prepare at the normal priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)

    preloaded = ("simulators.protocols.live_run", "simulators.protocols.recorder", "appliance.evidence")
    for module in preloaded:
        importlib.import_module(module)
    opcua_space.prepare()


def _mark_endpoints(ctx: JobContext, run_id: str, states: dict[str, tuple[str, str | None]]) -> None:
    """Record what each endpoint does now; when all accept, the run is `running`: `scada.run.started`."""
    conn = open_db(ctx.state_dir)
    with transaction(conn):
        for protocol, (state, error) in states.items():
            scada_store.set_endpoint(conn, run_id, protocol, state, now_iso(), error)
        if all(ep["state"] == "accepting" for ep in scada_store.endpoints(conn, run_id)):
            webhooks.emit(conn, ctx.tenant_id, "scada.run.started", lambda: _run_view(conn, ctx.tenant_id, run_id))


def _run_view(conn: Any, tenant_id: str, run_id: str) -> dict[str, Any]:
    return scada.view(conn, scada.require(conn, tenant_id, run_id))


def _on_start(ctx: JobContext, run_id: str) -> Any:
    """Once the servers listen: connect to each, and record which accept (the run is `running` then)."""

    def on_start(live_run: Any) -> None:
        accepting = live_run.probe()
        where = live_run.endpoints()
        states: dict[str, tuple[str, str | None]] = {
            name: ("accepting", None) if ok else ("failed", "no TCP connection to {}:{}".format(*where[name]))
            for name, ok in accepting.items()
        }
        _mark_endpoints(ctx, run_id, states)
        refused = [name for name, ok in accepting.items() if not ok]
        if refused:
            raise JobFailed("PORT_UNAVAILABLE", f"{', '.join(refused)} did not accept connections after starting")

    return on_start


def run(ctx: JobContext) -> None:
    from simulators.errors import SimulationParamError
    from simulators.protocols.live_run import EndpointUnavailable, LiveRun, LiveRunConfig
    from simulators.protocols.node_map import NodeMap
    from simulators.protocols.register_map import RegisterMap

    params, live = ctx.params, ctx.params["live"]
    modbus, opcua = live.get("modbus") or {}, live.get("opcua") or {}
    record = ctx.work_dir / f"{params['plant']}-live-telemetry.parquet"
    try:
        live_run = LiveRun(params["plant"], LiveRunConfig(
            params=params.get("params"),
            seed=ctx.seed,
            scan_period=params.get("scan_period", 1.0),
            sensors=params.get("sensors"),
            attacks=params.get("attacks"),
            speed=float(live.get("speed", 1.0)),
            host=live.get("host", "127.0.0.1"),
            modbus_port=modbus.get("port"),
            unit_id=modbus.get("unit_id", 1),
            modbus_writes=bool(modbus.get("writes", False)),
            opcua_port=opcua.get("port"),
            opcua_security=_security(ctx, opcua.get("security", "sign_encrypt")) if opcua else None,
            opcua_history_values=_history_values(ctx) if opcua else 0,
            record_path=record,
        ))
    except SimulationParamError as exc:
        raise JobFailed("SIMULATION_INVALID", f"{exc.field}: {exc.message}") from exc
    trends.prune(open_db(ctx.state_dir))
    commands = _Commands(ctx, live["run_id"], live.get("duration"))
    try:
        summary = live_run.run(
            live.get("duration"),
            cancel=lambda: commands.stop or ctx.is_canceled(),
            on_tick=commands.tick,
            tick_s=VALUES_EVERY_S,  # commands are applied, and values published, ten times a second
            on_start=_on_start(ctx, live["run_id"]),
        )
    except EndpointUnavailable as exc:
        _mark_endpoints(ctx, live["run_id"], {exc.protocol: ("failed", exc.reason)})
        raise JobFailed("PORT_UNAVAILABLE", str(exc)) from exc
    except OSError as exc:
        raise JobFailed("PORT_UNAVAILABLE", f"a protocol server could not start: {exc}") from exc
    finally:
        alarms.end_run(open_db(ctx.state_dir), live["run_id"])
    ctx.check_cancel()
    manifest = {"run_id": live["run_id"], "config": live_run.config, "summary": summary}
    (ctx.work_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    (ctx.work_dir / "register-map.json").write_text(RegisterMap.for_plant(params["plant"]).to_json())
    (ctx.work_dir / "node-map.json").write_text(NodeMap.for_plant(params["plant"]).to_json())
    if record.exists():
        ctx.add_artifact(record, record.name, "application/vnd.apache.parquet")
    for name in ("manifest.json", "register-map.json", "node-map.json"):
        ctx.add_artifact(ctx.work_dir / name, name, "application/json")
    recording = summary.get("recording") or {}
    ctx.set_result(
        {
            "run_id": live["run_id"],
            "scans": summary["scans"],
            "rows": recording.get("rows", 0),
            "attack_rows": recording.get("attack_rows", 0),
            "attacks": len(summary["attacks"]),
        }
    )
    ctx.progress(1.0, rows=recording.get("rows", summary["scans"]), message="stopped")
