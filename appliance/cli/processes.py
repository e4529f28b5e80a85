"""The long-running processes: the gunicorn API, Huey consumers, and `serve` that runs them all.

`serve` is a small supervisor: it starts the API, one consumer per queue and the webhook deliverer
as child processes, restarts a child that dies, and stops them all on SIGTERM/SIGINT. Children
share only the state dir, as they would across machines.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from appliance.config import api_workers
from appliance.jobs.queues import QUEUES


class GunicornApp(BaseApplication):  # type: ignore[misc]
    """gunicorn with our options and the app factory, without a config file."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from appliance.api import create_app

        return create_app()


def serving_options(cfg: dict[str, Any]) -> dict[str, Any]:
    """How gunicorn serves the API: gevent workers, one per CPU core unless configured.

    An open event stream waits in a greenlet, not a thread, so streams cannot starve requests
    (docs/decisions.md, "Streams on gevent"). bench/api.py serves its bare Flask app the same way."""
    return {
        "workers": api_workers(cfg),
        "worker_class": "gevent",
        "worker_connections": int(cfg["server"]["worker_connections"]),
        "post_request": yield_between_requests,
    }


def yield_between_requests(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    """gunicorn's post-request hook: let the worker's other connections run before this one reads
    its next keep-alive request.

    A greenlet gives way only when a socket would block. A busy client that sends its next request
    as soon as it has the answer often has it waiting already, so its greenlet carried on request
    after request while other connections' requests sat unread: with 50 connections sending back
    to back, p50 2-9 ms but p99 0.7-1.7 s, for a bare Flask app as for the appliance. One switch
    to the hub per request serves the ready connections in turn (p99 within a few times p50, as
    a thread pool gives); it costs a few microseconds. Under a worker class without gevent it
    does nothing."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("socket"):
        import gevent

        gevent.sleep(0)


def run_api(cfg: dict[str, Any], host: str, port: int, insecure_http: bool = False) -> None:
    from appliance.services import tls  # here, not at the top: workers never need cryptography's x509

    os.environ["SEALFORGE_STATE_DIR"] = cfg["server"]["state_dir"]
    listen = tls.plan(cfg, host, insecure_http)
    if listen.insecure:
        print(tls.insecure_warning(host, port), file=sys.stderr, flush=True)
    GunicornApp(
        {
            "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            **serving_options(cfg),
            "timeout": int(cfg["server"].get("worker_timeout_s", 60)),  # [server] worker_timeout_s
            "graceful_timeout": 10,
            "accesslog": "-",
            "errorlog": "-",
            "loglevel": "info",
            "proc_name": "sealforge-api",
            "control_socket_disable": True,
            # No proxy stands in front of the appliance: never take the scheme (and so HSTS) or
            # the client address from X-Forwarded-* headers, not even from a local caller.
            "forwarded_allow_ips": "",
            "umask": 0o077,  # gunicorn's own files too; the process umask is already 077 (cli.main)
            **listen.gunicorn_options(),
        }
    ).run()


def clean_leftovers(cfg: dict[str, Any]) -> dict[str, Any] | None:
    """Start-up cleanup of crash leftovers and unused blobs; a failure is logged, never fatal."""
    from appliance.services.startup_cleanup import clean

    try:
        return clean(Path(cfg["server"]["state_dir"]))
    except Exception:
        logging.getLogger("sealforge.cleanup").exception("start-up cleanup failed")
        return None


def run_worker(cfg: dict[str, Any], queue: str, workers: int | None = None, start_cleanup: bool = True) -> None:
    """A consumer for one queue. A live run holds a `sim` worker thread for its whole life, so that
    queue gets one thread per allowed run plus one for lease reclaim and canceled jobs, and loads
    the live-run libraries in the background before the first run arrives. A worker started on its
    own cleans crash leftovers first; under `sealforge serve` the parent cleans once for all."""
    from appliance.jobs.consumer import make_consumer

    if start_cleanup:
        clean_leftovers(cfg)
    if queue == "sim":
        from appliance.kinds.simulation.live import prepare_worker

        workers = workers or int(cfg["scada"]["max_runs"]) + 1
        threading.Thread(target=prepare_worker, name="sim-prepare", daemon=True).start()
    consumer = make_consumer(Path(cfg["server"]["state_dir"]), queue, workers or 1)
    consumer.run()


def run_deliverer(cfg: dict[str, Any]) -> None:
    """The webhook deliverer until SIGTERM/SIGINT: it finishes the attempts in flight, then exits
    (docs/decisions.md, "Webhooks"). Its own process, so no receiver can slow a job or a request."""
    from appliance.services.webhooks.deliverer import Deliverer
    from appliance.services.webhooks.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    settings = Settings.from_config(cfg)
    with contextlib.suppress(OSError):  # not permitted here: send at the normal priority
        os.nice(settings.nice)  # the API and the jobs come first when the CPUs are busy
    Deliverer(Path(cfg["server"]["state_dir"]), settings).run(stop)


def _child_commands(cfg: dict[str, Any], host: str, port: int, insecure_http: bool) -> dict[str, list[str]]:
    base = [sys.executable, "-m", "appliance.cli.main"]
    state = ["--state-dir", cfg["server"]["state_dir"]]
    insecure = ["--insecure-http"] if insecure_http else []
    commands = {"api": [*base, "api", "--host", host, "--port", str(port), *insecure, *state]}
    for queue in QUEUES:
        commands[f"worker-{queue}"] = [*base, "worker", "--queue", queue, "--no-start-cleanup", *state]
    commands["webhooks"] = [*base, "webhooks-deliver", *state]
    return commands


def serve(cfg: dict[str, Any], host: str, port: int, insecure_http: bool = False) -> int:
    """Run the API, a consumer per queue and the webhook deliverer until told to stop."""
    from appliance.services import tls

    listen = tls.plan(cfg, host, insecure_http)  # refuses, or makes the certificate, before any child starts
    commands = _child_commands(cfg, host, port, insecure_http)
    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for name, cmd in commands.items():
        children[name] = subprocess.Popen(cmd)
    cleaned = clean_leftovers(cfg)  # beside the children: it takes nothing a live process holds
    print(f"sealforge serve: start-up cleanup {json.dumps(cleaned, sort_keys=True)}", flush=True)
    print(f"sealforge serve: {listen.scheme}://{host}:{port} (state {cfg['server']['state_dir']})", flush=True)
    if listen.certificate is not None:
        print(f"sealforge serve: TLS certificate SHA-256 {listen.certificate.fingerprint}", flush=True)
    restarts: dict[str, float] = {}
    while not stopping:
        time.sleep(0.5)
        for name, proc in list(children.items()):
            if proc.poll() is not None and not stopping:
                if time.time() - restarts.get(name, 0) < 5:
                    continue  # back off a crash loop
                print(f"sealforge serve: {name} exited with {proc.returncode}; restarting", flush=True)
                restarts[name] = time.time()
                children[name] = subprocess.Popen(commands[name])
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.time() + 15
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0
