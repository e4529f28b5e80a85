"""Benchmark: authenticated GET /v1/auth/whoami under gunicorn, beside a bare Flask app.

Both servers run with the same gunicorn settings (2 gthread workers × 8 threads) and are driven by
the same load generator, so the ratio is the cost of Sealforge's request pipeline (correlation id,
key lookup, scope check, rate-limit bucket, envelope) over Flask itself.

    .venv/bin/python bench/api.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import LoadResult, run_load

ROOT = Path(__file__).resolve().parents[1]
PEER_APP = """
from flask import Flask, jsonify
app = Flask("peer")
@app.get("/v1/auth/whoami")
def whoami():
    return jsonify(tenant_id="ten_x", caller="key_x", kind="key", scopes=["read"], effective_scopes=["read"])
"""


def wait_up(port: int, path: str = "/v1/auth/whoami", headers: dict[str, str] | None = None) -> None:
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            urllib.request.urlopen(
                urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {}), timeout=1
            )
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on {port} did not start")


def gunicorn_cmd(app: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        "2",
        "--threads",
        "8",
        "-k",
        "gthread",
        "--no-control-socket",
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        app,
    ]


def measure(
    cmd: list[str], env: dict[str, str], port: int, headers: dict[str, str], seconds: float, cwd: str
) -> LoadResult:
    proc = subprocess.Popen(cmd, env=env, cwd=cwd)
    try:
        wait_up(port, headers=headers)
        run_load("127.0.0.1", port, "/v1/auth/whoami", headers, seconds=1.0)  # warm-up
        return run_load("127.0.0.1", port, "/v1/auth/whoami", headers, seconds=seconds)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "var"
        boot = subprocess.run(
            [sys.executable, "-m", "appliance.cli.main", "admin", "bootstrap", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        key = json.loads(boot.stdout)["api_key"]
        env = {
            **os.environ,
            "SEALFORGE_STATE_DIR": str(state),
            "SEALFORGE_RATELIMIT_BURST": "100000000",
            "SEALFORGE_RATELIMIT_RATE_PER_S": "100000000",
        }
        (Path(tmp) / "peer_app.py").write_text(PEER_APP)
        ours = measure(
            gunicorn_cmd("appliance.api:create_app()", 18181), env, 18181, {"X-API-Key": key}, args.seconds, str(ROOT)
        )
        peer = measure(gunicorn_cmd("peer_app:app", 18182), env, 18182, {}, args.seconds, tmp)
    print(f"{'server':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for name, r in (("sealforge whoami (API key)", ours), ("bare flask (no auth)", peer)):
        print(f"{name:<28}{r.rps:>10.0f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}{r.errors:>8}")
    print(f"ratio sealforge/bare flask: {ours.rps / peer.rps:.2f}x throughput, {ours.p99_ms / peer.p99_ms:.2f}x p99")


if __name__ == "__main__":
    main()
