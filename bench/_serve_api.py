"""Start an API server exactly the way `sealforge api` does, serving the appliance or a bare app.

Both go through ``appliance.cli.processes.run_api``, so the bare Flask app gets the very gunicorn
options the appliance gets (worker class, workers, threads, access log, timeouts), whatever
``run_api`` sets today. ``--worker-class``, ``--workers`` and ``--threads`` override only those
options, for comparing serving models. Used by ``bench/api_wrk.py`` and ``bench/streams.py``; not a
test and not part of the appliance.

    python bench/_serve_api.py {appliance,bare} PORT STATE_DIR [--worker-class gthread] [--workers N] [--threads N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def bare_app() -> Any:
    """The peer: the same JSON whoami answers and a 202 submit, with no auth, rate limit or audit."""
    from flask import Flask, jsonify

    app = Flask("peer")

    @app.get("/v1/auth/whoami")
    def whoami() -> Any:
        return jsonify(tenant_id="ten_x", caller="key_x", kind="key", scopes=["read"], effective_scopes=["read"])

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=("appliance", "bare"))
    parser.add_argument("port", type=int)
    parser.add_argument("state_dir")
    parser.add_argument("--worker-class", default=None, help="override run_api's worker class")
    parser.add_argument("--workers", type=int, default=None, help="override run_api's worker count")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (gthread)")
    args = parser.parse_args()
    overrides = {
        name: value
        for name, value in (("worker_class", args.worker_class), ("workers", args.workers), ("threads", args.threads))
        if value is not None
    }

    from appliance.cli import processes
    from appliance.config import load_config
    from appliance.store.open import prepare_state_dir, restrict_umask

    restrict_umask()
    cfg = load_config(overrides={"server": {"state_dir": args.state_dir}})
    prepare_state_dir(Path(args.state_dir))
    app_class: Any = processes.GunicornApp
    if args.which == "bare":
        app_class.load = lambda self: bare_app()
    if overrides:
        original = app_class.load_config

        def load_config_with_overrides(self: Any) -> None:
            original(self)
            for name, value in overrides.items():
                self.cfg.set(name, value)

        app_class.load_config = load_config_with_overrides
    processes.run_api(cfg, "127.0.0.1", args.port)


if __name__ == "__main__":
    main()
