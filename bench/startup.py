"""Benchmark: `sealforge serve` from exec to the first 200 on /healthz, beside a bare gunicorn app.

`sealforge serve` prepares the state dir (modes, migrations under a lock), decides HTTP or HTTPS,
and starts the API (gunicorn, 2 gthread workers) plus one Huey consumer per queue; the goal is an
answer within 5 s. Peer: gunicorn with the same worker settings serving a bare Flask app. Each is
started `--runs` times on a bootstrapped state dir; the first Sealforge start on a fresh state dir
(migrations from zero) is reported apart.

    .venv/bin/python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._load import free_port  # noqa: E402

PEER_APP = """from flask import Flask
app = Flask("peer")
@app.get("/healthz")
def healthz():
    return {"status": "ok"}
"""
GOAL_S = 5.0


def time_to_healthz(cmd: list[str], port: int, cwd: Path) -> float:
    """Seconds from exec to the first 200 on /healthz; the process group is stopped after."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while time.perf_counter() - started < 60:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[2:4]} exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("no /healthz answer within 60 s")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "var"

        def serve() -> float:
            port = free_port()
            cmd = [sys.executable, "-m", "appliance.cli.main", "serve", "--port", str(port), "--state-dir", str(state)]
            return time_to_healthz(cmd, port, ROOT)

        first = serve()
        ours = [serve() for _ in range(args.runs)]
        (Path(tmp) / "peer_app.py").write_text(PEER_APP)
        peer = []
        for _ in range(args.runs):
            port = free_port()
            cmd = [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "8", "-k", "gthread",
                   "--no-control-socket", "-b", f"127.0.0.1:{port}", "--log-level", "warning", "peer_app:app"]
            peer.append(time_to_healthz(cmd, port, Path(tmp)))
    ours_med, peer_med = statistics.median(ours), statistics.median(peer)
    print(f"{'start → /healthz 200':<44}{'median s':>10}{'max s':>8}")
    print(f"{'sealforge serve (API + 5 consumers)':<44}{ours_med:>10.2f}{max(ours):>8.2f}")
    print(f"{'sealforge serve, fresh state dir':<44}{first:>10.2f}")
    print(f"{'bare gunicorn + Flask':<44}{peer_med:>10.2f}{max(peer):>8.2f}")
    print(f"ratio sealforge/bare: {ours_med / peer_med:.2f}x   goal: <= {GOAL_S:.0f} s")


if __name__ == "__main__":
    main()
