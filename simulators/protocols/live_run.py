"""`LiveRun`: one plant stepped in real time, served over Modbus TCP and OPC UA, and recorded.

It is made for a worker process of the appliance's `sim` queue: `run()` blocks until the duration
is over or `cancel()` says stop, and calls `on_tick(run)` a few times a second so the worker can
apply commands it reads from the appliance (writes, attacks, stop): the API and the workers share
no memory. In tests and scripts, `start()` / `stop()` (or `with LiveRun(...)`) run it in the
background.

One thread owns an asyncio loop that does everything: it steps the plant on a wall-clock schedule
(scan k is due at t0 + k * scan_period / speed; a late loop catches up in bursts, and `lag_s` says
by how much), serves both protocols, publishes OPC UA changes once per tick, appends each scan to
the recording and calls the per-scan callbacks. Calls from other threads (`inject_attack`) are
handed to that loop, so no step ever runs halfway through an injection. A step takes 15-35 us, so
even x100 speed costs a few ms of CPU per second.

`pause()` freezes the process between two ticks: no scan is stepped (simulated time stands still,
nothing is recorded and no scan callback runs), both servers keep their clients and answer reads
with the last values, and the plant refuses every write (`PlantPausedError`: Modbus exception 6,
OPC UA BadInvalidState). `resume()` steps on from the scan it froze at, on a schedule re-anchored
to the moment it resumed, so the pause is not caught up in a burst.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulators.attacks.scenario import AttackScenario
from simulators.errors import SimulationParamError
from simulators.live import LivePlant
from simulators.protocols import live_attacks
from simulators.protocols.modbus import ModbusPlantServer
from simulators.protocols.opcua import OpcUaPlantServer
from simulators.protocols.opcua_auth import OpcUaSecurity
from simulators.protocols.recorder import NORMAL, Labels, TelemetryRecorder
from simulators.validation import format_ms

log = logging.getLogger(__name__)

ScanCallback = Callable[[dict[str, Any]], None]
WriteHook = Callable[[Mapping[str, Any], str], None]
MIN_TICK_S = 0.01  # shortest sleep between ticks; faster scan rates step several scans per tick
MAX_BURST = 1000  # most scans stepped in one tick when catching up
START_TIMEOUT_S = 30.0
PROBE_TIMEOUT_S = 2.0
PAUSED_TICK_S = 0.1  # how often a paused loop looks whether to resume (or stop)
WILDCARD_PROBE = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


class EndpointUnavailable(OSError):
    """A protocol server could not listen: which one, where, and the system's reason."""

    def __init__(self, protocol: str, host: str, port: int | None, reason: str) -> None:
        super().__init__(f"{protocol} cannot listen on {host}:{port}: {reason}")
        self.protocol, self.host, self.port, self.reason = protocol, host, port, reason


def accepts(host: str, port: int, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP client connects to `host:port` now (a wildcard bind is probed on loopback)."""
    try:
        with socket.create_connection((WILDCARD_PROBE.get(host, host), port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class LiveRunConfig:
    """How a `LiveRun` runs: every setting with its default, checked by `validate()`.

    `params`, `seed`, `scan_period`, `sensors`, `attacks` and `start_time` build the plant when
    `LiveRun` is given a plant name (they are ignored for a ready `LivePlant`); a port of None
    leaves that protocol unserved and 0 lets the OS pick one; `record_path` None records nothing.
    """

    params: Mapping[str, Any] | None = None
    seed: int = 0
    scan_period: float = 1.0
    sensors: Mapping[str, Any] | None = None
    attacks: Sequence[Mapping[str, Any]] | None = None
    start_time: str | None = None
    speed: float = 1.0
    host: str = "127.0.0.1"
    modbus_port: int | None = None
    unit_id: int | None = 1
    modbus_writes: bool = True
    opcua_port: int | None = None
    opcua_security: OpcUaSecurity | None = None
    opcua_history_values: int = 0  # values of each OPC UA variable kept for HistoryRead; 0: no history
    record_path: str | Path | None = None
    chunk_rows: int = 1000
    on_scan: ScanCallback | None = None
    on_write: WriteHook | None = None
    history_scans: int = 3600

    def validate(self) -> None:
        """Raise SimulationParamError for a setting out of range (the plant checks its own)."""
        speed = self.speed
        if isinstance(speed, bool) or not isinstance(speed, int | float) or not 0 < speed <= 1000:
            raise SimulationParamError("speed", "must be > 0 and at most 1000")


class LiveRun:
    """A live plant, its protocol servers, its recording and its callbacks."""

    def __init__(self, plant: str | LivePlant, config: LiveRunConfig | None = None) -> None:
        cfg = config if config is not None else LiveRunConfig()
        cfg.validate()
        given = isinstance(plant, LivePlant)
        if isinstance(plant, LivePlant):
            self.plant = plant
        else:
            self.plant = LivePlant(plant, cfg.params, seed=cfg.seed, scan_period=cfg.scan_period, sensors=cfg.sensors,
                                   attacks=cfg.attacks,
                                   start_time=cfg.start_time or format_ms(int(time.time() * 1000)))
        self.speed = float(cfg.speed)
        self.host = host = cfg.host
        self.config = {
            "plant": self.plant.name, "params": dict(self.plant.params), "seed": None if given else cfg.seed,
            "scan_period": self.plant.scan_period, "speed": self.speed, "start_time": format_ms(self.plant.start_ms),
            "sensors": None if given else dict(cfg.sensors or {}),
            "attacks": [s.to_dict() for s in live_attacks.scenarios(self.plant)],
        }
        self.modbus = (ModbusPlantServer(self.plant, host=host, port=cfg.modbus_port, unit_id=cfg.unit_id,
                                         on_write=cfg.on_write, read_only=not cfg.modbus_writes)
                       if cfg.modbus_port is not None else None)
        self.opcua = (OpcUaPlantServer(self.plant, host=host, port=cfg.opcua_port, security=cfg.opcua_security,
                                       on_write=cfg.on_write, history_values=cfg.opcua_history_values)
                      if cfg.opcua_port is not None else None)
        self.record_path = Path(cfg.record_path) if cfg.record_path is not None else None
        self.chunk_rows = cfg.chunk_rows
        self.recorder: TelemetryRecorder | None = None
        self._callbacks: list[ScanCallback] = [cfg.on_scan] if cfg.on_scan else []
        self._scenarios: list[tuple[AttackScenario, int, int]] = [
            (s, *live_attacks.window(s, self.plant.scan_period)) for s in live_attacks.scenarios(self.plant)]
        self._history: collections.deque[dict[str, Any]] = collections.deque(maxlen=max(1, cfg.history_scans))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._summary: dict[str, Any] | None = None
        self.scans = 0
        self.lag_s = 0.0
        self.callback_errors = 0

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Start serving and stepping in a background thread; returns once the servers listen.
        A port that cannot be bound raises OSError (and leaves no recording behind)."""
        if self._thread is not None:
            raise RuntimeError("this run was already started")
        self._thread = threading.Thread(target=self._thread_main, name=f"live-{self.plant.name}", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise TimeoutError("the live run did not start in time")
        if self._error is not None:
            self._thread.join()
            raise self._error

    def stop(self) -> dict[str, Any]:
        """Stop stepping, close the servers (ports freed), flush and close the recording; returns a summary."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            raise RuntimeError("this run was not started")
        if loop is not None and stop is not None and thread.is_alive():
            loop.call_soon_threadsafe(stop.set)
        thread.join()
        if self._error is not None:
            raise self._error
        assert self._summary is not None
        return self._summary

    def run(self, duration_s: float | None = None, *, cancel: Callable[[], bool] | None = None,
            on_tick: Callable[[LiveRun], None] | None = None, tick_s: float = 0.25,
            on_start: Callable[[LiveRun], None] | None = None) -> dict[str, Any]:
        """Blocking form for a worker: start, call `on_start(self)` once the servers listen, run
        `duration_s` of wall time (forever if None) or until `cancel()` is true, calling `on_tick(self)`
        every `tick_s`; then stop and return the summary."""
        self.start()
        end = None if duration_s is None else time.monotonic() + duration_s
        try:
            if on_start is not None:
                on_start(self)
            while (end is None or time.monotonic() < end) and self._thread is not None and self._thread.is_alive():
                if cancel is not None and cancel():
                    break
                if on_tick is not None:
                    on_tick(self)
                time.sleep(tick_s if end is None else max(0.0, min(tick_s, end - time.monotonic())))
        finally:
            summary = self.stop()
        return summary

    def __enter__(self) -> LiveRun:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None and self._summary is None:
            self.stop()

    # -- what callers use while it runs -------------------------------------------------------------
    @property
    def modbus_address(self) -> tuple[str, int] | None:
        return self.modbus.address if self.modbus is not None else None

    @property
    def opcua_endpoint(self) -> str | None:
        return self.opcua.endpoint if self.opcua is not None else None

    def endpoints(self) -> dict[str, tuple[str, int]]:
        """The address and port each served protocol listens on (ports picked by the OS included)."""
        served = {"modbus": self.modbus, "opcua": self.opcua}
        return {name: (s.host, s.port) for name, s in served.items() if s is not None}

    def probe(self) -> dict[str, bool]:
        """A real TCP connect to each endpoint: what a client connecting now would see."""
        return {name: accepts(host, port) for name, (host, port) in self.endpoints().items()}

    def add_scan_callback(self, callback: ScanCallback) -> None:
        """`callback(snapshot)` after every scan, on the run's thread: keep it short (queue the data)."""
        self._callbacks = [*self._callbacks, callback]

    def remove_scan_callback(self, callback: ScanCallback) -> None:
        self._callbacks = [c for c in self._callbacks if c is not callback]

    def values(self) -> dict[str, Any]:
        """Now: scan index, simulated time, timestamp, every value, active attacks and row labels."""
        snap = self.plant.snapshot()
        scan = round(snap["time"] / self.plant.scan_period)
        return self._snapshot(scan, snap["timestamp"], snap["time"], snap["values"])

    def scenarios(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s, _, _ in self._scenarios]

    @property
    def paused(self) -> bool:
        return self.plant.paused

    def pause(self) -> dict[str, Any]:
        """Freeze the process after the tick in progress; returns the values it froze at."""
        self._on_loop(self.plant.pause)
        return self.values()

    def resume(self) -> dict[str, Any]:
        """Step on from the frozen scan (the loop re-anchors its schedule on its next tick)."""
        self._on_loop(self.plant.resume)
        return self.values()

    def clients(self) -> dict[str, int]:
        """Clients connected now, per served protocol: Modbus TCP connections, OPC UA sessions."""
        served = {"modbus": self.modbus, "opcua": self.opcua}
        return {name: server.clients for name, server in served.items() if server is not None}

    def _on_loop(self, action: Callable[[], None]) -> None:
        """Run ``action`` on the run's loop between two ticks (directly when the loop is not running)."""
        loop = self._loop
        if loop is None or self._thread is None or not self._thread.is_alive():
            action()
            return

        async def in_loop() -> None:
            action()

        asyncio.run_coroutine_threadsafe(in_loop(), loop).result(timeout=10)

    def inject_attack(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Start an attack now (or after `delay` s, or at run second `start`); returns the scenario.
        Raises `SimulationParamError` (with the field) for a bad spec."""
        loop = self._loop
        if loop is None or self._thread is None or not self._thread.is_alive():
            return self._inject(spec)

        async def in_loop() -> dict[str, Any]:
            return self._inject(spec)

        return asyncio.run_coroutine_threadsafe(in_loop(), loop).result(timeout=10)

    def _inject(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        scenario = live_attacks.inject(self.plant, spec, list(self._history))
        s0, e0 = live_attacks.window(scenario, self.plant.scan_period)
        self._scenarios = [*self._scenarios, (scenario, s0, e0)]
        log.info("attack %s (%s) injected on %s: scans %d..%d", scenario.attack_id, scenario.technique,
                 self.plant.name, s0, e0 - 1)
        return scenario.to_dict()

    # -- the run's thread ---------------------------------------------------------------------------
    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start()/stop()
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        started: list[Any] = []
        serving = False
        try:
            if self.record_path is not None:
                self.recorder = TelemetryRecorder(self.record_path, self.plant.table, self.config, self.chunk_rows)
            for name, server in (("modbus", self.modbus), ("opcua", self.opcua)):
                if server is not None:
                    try:
                        await server.start()
                    except OSError as exc:
                        raise EndpointUnavailable(name, server.host, server.port, str(exc)) from exc
                    started.append(server)
            self._after_scan()  # the row of scan 0, made when the plant was built
            serving = True
            self._ready.set()
            await self._tick_loop()
        finally:
            for server in reversed(started):
                try:
                    await server.stop()
                except Exception:
                    log.exception("stopping %s failed", type(server).__name__)
            recording = None
            if self.recorder is not None and serving:
                recording = self.recorder.close()
            elif self.recorder is not None:
                self.recorder.abort()  # never served: leave no empty recording behind
            self._summary = {
                "plant": self.plant.name, "scans": self.scans, "simulated_s": self.plant.time,
                "lag_s": round(self.lag_s, 3), "attacks": self.scenarios(), "recording": recording,
                "modbus": self.modbus_address, "opcua": self.opcua_endpoint,
                "opcua_logins": self.opcua.logins if self.opcua is not None else None,
                "callback_errors": self.callback_errors,
            }

    async def _tick_loop(self) -> None:
        assert self._loop is not None and self._stop is not None
        loop, stop = self._loop, self._stop
        period = self.plant.scan_period / self.speed
        t0 = loop.time()
        done = 0
        while not stop.is_set():
            if self.plant.paused:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), PAUSED_TICK_S)
                t0 = loop.time() - done * period  # on resume: the next scan is one period away
                continue
            next_due = t0 + (done + 1) * period
            wait = max(next_due - loop.time(), 0.0)
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(wait, MIN_TICK_S))
                if stop.is_set():
                    break
            else:
                await asyncio.sleep(0)  # behind schedule: still let the servers answer between ticks
            if self.plant.paused:
                continue  # paused while waiting: step nothing more
            due = math.floor((loop.time() - t0) / period) - done
            for _ in range(min(due, MAX_BURST)):
                self.plant.step()
                done += 1
                self._after_scan()
            self.lag_s = max(0.0, loop.time() - (t0 + done * period) - period)
            if self.opcua is not None:
                await self.opcua.update()

    def _after_scan(self) -> None:
        snap = self.plant.snapshot()
        scan = round(snap["time"] / self.plant.scan_period)
        values = snap["values"]
        self.scans = scan
        self._history.append(values)
        labels = self._labels(scan)
        if self.recorder is not None:
            self.recorder.append(self.plant.start_ms + round(snap["time"] * 1000), values, snap["quality"], labels)
        callbacks = self._callbacks
        if callbacks:
            out = self._snapshot(scan, snap["timestamp"], snap["time"], values, labels)
            for cb in callbacks:
                try:
                    cb(out)
                except Exception:
                    self.callback_errors += 1
                    log.exception("scan callback failed")

    def _labels(self, scan: int) -> Labels:
        active = [s for s, s0, e0 in self._scenarios if s0 <= scan < e0]
        if not active:
            return NORMAL
        return (1, ";".join(s.attack_id for s in active), ";".join(s.spec.attck_id for s in active),
                ";".join(s.spec.key for s in active))

    def _snapshot(self, scan: int, timestamp: str, sim_time: float, values: Mapping[str, Any],
                  labels: Labels | None = None) -> dict[str, Any]:
        flag, ids, techs, types = labels if labels is not None else self._labels(scan)
        return {
            "scan": scan, "time": sim_time, "timestamp": timestamp, "values": dict(values),
            "attack": flag, "attack_id": ids, "technique": techs, "attack_type": types,
            "active_attacks": ids.split(";") if ids else [],
        }
