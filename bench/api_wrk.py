"""Benchmark: per-request cost of the API, measured with `wrk` (issue #14).

One run starts the appliance API and a bare Flask app, each through `appliance.cli.processes.run_api`
(so both get the very gunicorn settings `sealforge api` / `sealforge serve` use: worker class,
workers, threads, access log), and drives them with the native load generator `wrk`, so the client
does not take the servers' Python CPU:

- `GET /v1/auth/whoami` with an `X-API-Key`, `wrk -t1 -c16`, beside the bare app's same JSON. The
  two servers are driven in alternating slices (5 × 2 s each by default, the order swapped every
  slice), so load from other work on a shared box falls on both alike. Prints req/s, p50, p99,
  the servers' CPU per request (master and workers, from /proc) and the ratios; on a shared box
  the CPU ratio is the steadiest figure.
- `POST /v1/mock/jobs` (submit only, no worker running) from 50 concurrent submitters: once closed
  loop with wrk (each connection sends again as soon as it is answered: the most the server takes),
  once paced (each submitter one submit a second, open loop, from Python threads); prints req/s,
  p50 and p99 of the 202s.

Rate limits stay on (the bucket write is part of the cost) with a limit high enough never to bite.
Needs `wrk` (Debian: `apt-get install wrk`).

    .venv/bin/python bench/api_wrk.py [--seconds 10] [--slices 5] [--connections 16]
                                      [--submitters 50] [--paced-per-s 1] [--worker-class gevent]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCHEMA = {"tables": [{"name": "t", "rows": 10, "columns": [{"name": "id", "type": "int", "generator": "sequence"}]}]}
SUBMIT_LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = {key}
"""
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int  # socket errors and non-2xx answers
    cpu_us: float = 0.0  # server CPU (master and workers, user + system) per request


def server_cpu_s(master: int) -> float:
    """CPU seconds used so far by the gunicorn master and its workers (from /proc; Linux only).

    Less sensitive than req/s to other work on a shared box: it counts what the server spent, not
    how long it waited for a core."""
    pids = [master]
    for task in Path(f"/proc/{master}/task").iterdir():
        pids += [int(p) for p in (task / "children").read_text().split()]
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def measured(proc: subprocess.Popen[bytes], *args: Any, **kwargs: Any) -> WrkResult:
    before = server_cpu_s(proc.pid)
    result = wrk(*args, **kwargs)
    result.cpu_us = (server_cpu_s(proc.pid) - before) / max(1, result.requests) * 1e6
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(out: str) -> WrkResult:
    pct = dict(re.findall(r"^\s+(\d+)%\s+([\d.]+(?:us|ms|s))\s*$", out, re.M))
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errs:
        bad += sum(int(n) for n in errs.groups())
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return WrkResult(rps, _ms(pct["50"]), _ms(pct["99"]), requests, bad)


def combine(slices: list[WrkResult]) -> WrkResult:
    """One figure from alternating slices: req/s over all of them, and the median slice's p50,
    p99 and CPU per request (percentiles of different slices cannot be merged exactly)."""
    import statistics

    requests = sum(r.requests for r in slices)
    seconds = sum(r.requests / r.rps for r in slices if r.rps)
    return WrkResult(
        requests / seconds,
        statistics.median(r.p50_ms for r in slices),
        statistics.median(r.p99_ms for r in slices),
        requests,
        sum(r.bad for r in slices),
        statistics.median(r.cpu_us for r in slices),
    )


def wrk(url: str, connections: int, seconds: float, script: Path | None = None, key: str | None = None) -> WrkResult:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    if key:
        cmd += ["-H", f"X-API-Key: {key}"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def paced_submits(port: int, key: str, body: str, submitters: int, per_s: float, seconds: float) -> WrkResult:
    """Open loop: ``submitters`` threads, each sending one submit every ``1/per_s`` s on its own
    keep-alive connection. Latency counts from the scheduled send time, so a slow answer that
    delays the next send is charged to the server (no coordinated omission). The client's own CPU
    is small at this rate (tens of requests a second), unlike a closed loop in Python."""
    import http.client
    import statistics
    import threading

    latencies: list[float] = []
    bad: list[int] = []
    start_at = time.perf_counter() + 0.5

    def submitter(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json", "X-API-Key": key}
        due = start_at + index / (submitters * per_s)  # spread the submitters over one period
        while due < start_at + seconds:
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            conn.request("POST", "/v1/mock/jobs", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - due)
            if response.status != 202:
                bad.append(response.status)
            due += 1.0 / per_s
        conn.close()

    threads = [threading.Thread(target=submitter, args=(i,)) for i in range(submitters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return WrkResult(len(ordered) / seconds, statistics.median(ordered) * 1000, p99, len(ordered), len(bad))


def wait_up(port: int, headers: dict[str, str]) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/auth/whoami", headers=headers)
            urllib.request.urlopen(req, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on {port} did not start")


def start(which: str, port: int, state: Path, worker_class: str | None, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, str(ROOT / "bench" / "_serve_api.py"), which, str(port), str(state)]
    if worker_class:
        cmd += ["--worker-class", worker_class]
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def setup(state: Path) -> tuple[str, str]:
    """A tenant with ample credits, a read key and a generate key."""
    from appliance.services import identity
    from appliance.store.open import open_db

    conn = open_db(state)
    tenant = identity.create_tenant(conn, "bench", credits=1_000_000_000)
    read_key = identity.create_key(conn, tenant["id"], ["read"], name="bench-read")["api_key"]
    gen_key = identity.create_key(conn, tenant["id"], ["generate"], name="bench-submit")["api_key"]
    conn.close()
    return read_key, gen_key


def row(name: str, r: WrkResult) -> str:
    return f"{name:<34}{r.rps:>10.0f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}{r.cpu_us:>10.0f}{r.bad:>8}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--submitters", type=int, default=50)
    parser.add_argument("--paced-per-s", type=float, default=1.0, help="submits per second per paced submitter")
    parser.add_argument("--worker-class", default=None, help="default: what `sealforge api` uses")
    parser.add_argument("--slices", type=int, default=5, help="alternating whoami slices per server")
    parser.add_argument("--submit-only", action="store_true", help="skip whoami; only the job submit runs")
    parser.add_argument("--repeats", type=int, default=1, help="closed-loop and paced submit runs, each reported")
    args = parser.parse_args()
    slice_s = max(1.0, args.seconds / args.slices)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "var"
        from appliance.store.open import restrict_umask

        restrict_umask()
        read_key, gen_key = setup(state)
        env = {
            **os.environ,
            "SEALFORGE_STATE_DIR": str(state),
            "SEALFORGE_RATELIMIT_BURST": "100000000",
            "SEALFORGE_RATELIMIT_RATE_PER_S": "100000000",
        }
        script = Path(tmp) / "submit.lua"
        body = json.dumps({"params": {"schema": SCHEMA}, "seed": 1})
        script.write_text(SUBMIT_LUA.format(body=json.dumps(body), key=json.dumps(gen_key)))

        port, peer_port = free_port(), free_port()
        proc = start("appliance", port, state, args.worker_class, env)
        peer_proc = start("bare", peer_port, state, args.worker_class, env)
        try:
            wait_up(port, {"X-API-Key": read_key})
            wait_up(peer_port, {})
            if args.submit_only:
                stop(peer_proc)
                submits, paced_runs = submit_runs(proc, port, args, script, gen_key, body)
                return print_submits(args, submits, paced_runs)
            url = f"http://127.0.0.1:{port}/v1/auth/whoami"
            peer_url = f"http://127.0.0.1:{peer_port}/v1/auth/whoami"
            wrk(url, args.connections, 2, key=read_key)  # warm-up: imports, connections, caches
            wrk(peer_url, args.connections, 2)
            ours_slices: list[WrkResult] = []
            peer_slices: list[WrkResult] = []
            for index in range(args.slices):
                pair = [
                    lambda: ours_slices.append(measured(proc, url, args.connections, slice_s, key=read_key)),
                    lambda: peer_slices.append(measured(peer_proc, peer_url, args.connections, slice_s)),
                ]
                for run in pair if index % 2 == 0 else reversed(pair):
                    run()
            stop(peer_proc)
            submits, paced_runs = submit_runs(proc, port, args, script, gen_key, body)
        finally:
            stop(proc)
            if peer_proc.poll() is None:
                stop(peer_proc)
        ours, peer = combine(ours_slices), combine(peer_slices)

    print(
        f"wrk -t1 -c{args.connections}, {args.slices} alternating slices of {slice_s:g} s each,"
        f" worker class {args.worker_class or 'as run_api'}"
    )
    print(f"{'':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'cpu us':>10}{'bad':>8}")
    print(row("sealforge whoami (API key)", ours))
    print(row("bare flask whoami (no auth)", peer))
    print(
        f"ratio sealforge/bare: {ours.rps / peer.rps:.2f}x throughput, {ours.p99_ms / peer.p99_ms:.2f}x p99,"
        f" {ours.cpu_us / peer.cpu_us:.2f}x server CPU per request"
    )
    print_submits(args, submits, paced_runs)


def submit_runs(
    proc: subprocess.Popen[bytes], port: int, args: argparse.Namespace, script: Path, key: str, body: str
) -> tuple[list[WrkResult], list[WrkResult]]:
    """``args.repeats`` closed-loop runs (wrk) and as many paced runs, alternating, after a warm-up."""
    submit_url = f"http://127.0.0.1:{port}/v1/mock/jobs"
    wrk(submit_url, args.submitters, 2, script=script)
    closed: list[WrkResult] = []
    paced: list[WrkResult] = []
    for _ in range(args.repeats):
        closed.append(measured(proc, submit_url, args.submitters, args.seconds, script=script))
        paced.append(paced_submits(port, key, body, args.submitters, args.paced_per_s, args.seconds))
    return closed, paced


def print_submits(args: argparse.Namespace, closed: list[WrkResult], paced: list[WrkResult]) -> None:
    print(f"{'':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'cpu us':>10}{'bad':>8}")
    for index, (c, p) in enumerate(zip(closed, paced, strict=True)):
        run = f" #{index + 1}" if len(closed) > 1 else ""
        print(row(f"job submit, {args.submitters} closed loop{run}", c))
        print(row(f"job submit, {args.submitters} x {args.paced_per_s:g}/s paced{run}", p))


if __name__ == "__main__":
    main()
