"""Event streams under load: the serving model now (gevent workers) beside the one before (gthread,
2 workers x 8 threads), in one run.

For each model: start the API on a fresh state dir (plus a `sim` worker and one live run stepping
at 10 Hz), open ``--values`` streams on the run's values and ``--jobs`` streams on queued jobs (no
default worker runs, so those jobs wait and their streams idle), then with every stream open:

* for ``--seconds`` nothing but the streams: every values subscriber's share of the samples
  published meanwhile (the goal is >= 99 %), and the CPU the API worker processes used, in cores;
* ``wrk`` (a native load generator, so the client does not steal Python CPU) drives GET /healthz and
  GET /v1/jobs for 5 s each: p50 and p99 latency, and how many requests failed;
* the jobs are canceled in batches: each stream's delay from the cancel request to its `status`
  event arriving (what "within 1 s of their creation" bounds).

    .venv/bin/python bench/streams.py [--values 200] [--jobs 300] [--seconds 15] [--only gevent|gthread]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._load import free_port, percentile  # noqa: E402


def wait_healthy(port: int) -> None:
    """Wait until the API on ``port`` answers /healthz, about 30 s at most (the measurement's own
    requests then fail if it never came up)."""
    import httpx

    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)


def prepare(state: Path) -> tuple[str, str]:
    from appliance.cli.release import release
    from appliance.services import identity
    from appliance.store.open import open_db

    db = open_db(state)
    tenant = identity.create_tenant(db, "bench", credits=1_000_000)
    key = identity.create_key(db, tenant["id"], ["generate"])["api_key"]
    release(state)
    return tenant["id"], key


def start_api(state: Path, port: int, worker_class: str, log: Path) -> subprocess.Popen[bytes]:
    """The API as `sealforge api` serves it (bench/_serve_api.py); gthread as it was: 2 workers x 8 threads."""
    model = ["--worker-class", "gthread", "--workers", "2", "--threads", "8"] if worker_class == "gthread" else []
    env = {
        **os.environ,
        "SEALFORGE_STREAMS_MAX_OPEN": "5000",
        "SEALFORGE_STREAMS_PER_TENANT": "5000",
        "SEALFORGE_RATELIMIT_ENABLED": "false",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "_serve_api.py"), "appliance", str(port), str(state), *model],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def start_sim_worker(state: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "appliance.cli.main", "worker", "--queue", "sim", "--state-dir", str(state)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def call(base: str, key: str, method: str, path: str, body: Any = None) -> Any:
    import httpx

    response = httpx.request(method, base + path, json=body, headers={"X-API-Key": key}, timeout=10)
    response.raise_for_status()
    return response.json()


class Stream:
    """One SSE connection read by asyncio: when each event name arrived, and the values' seqs."""

    def __init__(self) -> None:
        self.status = 0
        self.arrivals: list[tuple[float, str, str]] = []  # (monotonic time, event, data)
        self.ids: list[tuple[float, str, int]] = []  # (monotonic time, event, SSE id)
        self.task: asyncio.Task[None] | None = None

    async def run(self, port: int, path: str, key: str) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        self.status = int(head.split()[1])
        event, seq = "", 0
        try:
            while True:
                line = (await reader.readline()).decode(errors="replace").strip()
                if not line and reader.at_eof():
                    return
                if line.startswith("id: "):
                    seq = int(line[4:])
                elif line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event:
                    now = time.monotonic()
                    self.arrivals.append((now, event, line[6:]))
                    self.ids.append((now, event, seq))
                    event = ""
        finally:
            writer.close()


def wrk(url: str, key: str, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", "-c2", f"-d{seconds}s", "--latency", "-H", f"X-API-Key: {key}", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    ).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", out, re.M)
        if not match:
            return float("nan")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        return float(match.group(1)) * scale

    requests = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = (sum(int(g) for g in errors.groups()) if errors else 0) + (int(non_2xx.group(1)) if non_2xx else 0)
    return {
        "p50": latency("50"),
        "p99": latency("99"),
        "requests": float(requests.group(1)) if requests else 0.0,
        "failed": float(failed),
    }


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def measure(port: int, key: str, args: argparse.Namespace, api_pids: list[int]) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    loop = asyncio.get_running_loop()
    run = await loop.run_in_executor(
        None,
        lambda: call(
            base,
            key,
            "POST",
            "/v1/scada/runs",
            {
                "plant": "water",
                "seed": 1,
                "speed": 10,
                "duration": 3600,
                "modbus": {"port": free_port()},
            },
        ),
    )
    for _ in range(600):
        view = await loop.run_in_executor(None, lambda: call(base, key, "GET", f"/v1/scada/runs/{run['id']}"))
        if view["status"] == "running":
            break
        await asyncio.sleep(0.1)
    columns = [{"name": "id", "type": "int", "generator": "sequence"}]
    job_body = {"kind": "mock", "params": {"schema": {"tables": [{"name": "t", "rows": 5, "columns": columns}]}}}
    jobs = []
    for _ in range(max(1, args.jobs // 10)):
        job = await loop.run_in_executor(None, call, base, key, "POST", "/v1/jobs", job_body)
        jobs.append(job["id"])
    streams: list[tuple[Stream, str]] = []
    for _ in range(args.values):
        streams.append((Stream(), f"/v1/scada/runs/{run['id']}/values"))
    for i in range(args.jobs):
        streams.append((Stream(), f"/v1/jobs/{jobs[i % len(jobs)]}/events"))
    for stream, path in streams:
        stream.task = asyncio.create_task(stream.run(port, path, key))
        await asyncio.sleep(0.002)
    await asyncio.sleep(2)
    opened = sum(1 for stream, _ in streams if stream.status == 200)

    window_start = time.monotonic()  # streams only: values flowing to every subscriber, nothing else
    cpu0 = cpu_seconds(api_pids)
    await asyncio.sleep(args.seconds)
    window_end = time.monotonic()
    cpu_cores = (cpu_seconds(api_pids) - cpu0) / (window_end - window_start)

    healthz = await loop.run_in_executor(None, wrk, f"{base}/healthz", key, 5)
    listing = await loop.run_in_executor(None, wrk, f"{base}/v1/jobs", key, 5)

    delays: list[float] = []
    failures: list[str] = []
    for job_id in jobs:
        sent = time.monotonic()
        try:
            await loop.run_in_executor(None, call, base, key, "POST", f"/v1/jobs/{job_id}/cancel")
        except Exception as exc:  # the model under test may not answer at all: that is the finding
            failures.append(f"cancel {job_id}: {type(exc).__name__}")
            break
        await asyncio.sleep(0.05)
        followers = [s for s, p in streams if p == f"/v1/jobs/{job_id}/events"]
        for _ in range(100):
            if all(any(e == "status" and '"canceled"' in d for _, e, d in s.arrivals) for s in followers):
                break
            await asyncio.sleep(0.05)
        for s in followers:
            got = [t for t, e, d in s.arrivals if e == "status" and '"canceled"' in d and t >= sent]
            delays.append((got[0] - sent) if got else float("inf"))

    # The samples published during the window (every seq any subscriber got then), and each
    # subscriber's share of them, whenever it got them: a sample arriving a few ms after the window
    # closed still counts as delivered.
    values_streams = [s for s, p in streams if p.endswith("/values")]
    in_window = {
        seq for s in values_streams for t, e, seq in s.ids if e == "values" and window_start <= t <= window_end
    }
    window_seqs = set(range(min(in_window), max(in_window) + 1)) if in_window else set()
    published = len(window_seqs)
    shares = (
        [len(window_seqs & {seq for _, e, seq in s.ids if e == "values"}) / published for s in values_streams]
        if published
        else [0.0]
    )
    for stream, _ in streams:
        assert stream.task is not None
        stream.task.cancel()
    try:
        await loop.run_in_executor(None, call, base, key, "POST", f"/v1/scada/runs/{run['id']}/stop")
    except Exception as exc:
        failures.append(f"stop: {type(exc).__name__}")
    return {
        "opened": opened,
        "healthz": healthz,
        "jobs": listing,
        "delay_p50_s": percentile(delays, 50) if delays else float("nan"),
        "delay_max_s": max(delays) if delays else float("nan"),
        "values_min_share": min(shares),
        "values_published": published,
        "api_cpu_cores": cpu_cores,
        "failures": failures,
    }


def worker_pids(master: int) -> list[int]:
    path = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def one(model: str, args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"sealforge-streams-{model}-"))
    state = work / "var"
    _, key = prepare(state)
    port = free_port()
    api = start_api(state, port, model, work / "api.log")
    sim = start_sim_worker(state, work / "sim.log")
    try:
        wait_healthy(port)
        return asyncio.run(measure(port, key, args, worker_pids(api.pid)))
    finally:
        stop(sim)
        stop(api)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--only", choices=("gevent", "gthread"))
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; {args.values} values streams + {args.jobs} job streams; one run at 10 Hz")
    for model in ("gevent", "gthread"):
        if args.only in (None, model):
            report(model, one(model, args), args)


def report(model: str, r: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\n{model}: {r['opened']} of {args.values + args.jobs} streams open")
    for name in ("healthz", "jobs"):
        w = r[name]
        print(
            f"  GET /{name:<8} p50 {w['p50']:7.1f} ms  p99 {w['p99']:7.1f} ms  "
            f"{w['requests']:6.0f} requests, {w['failed']:.0f} failed"
        )
    print(f"  cancel -> status event: p50 {r['delay_p50_s']:.3f} s, max {r['delay_max_s']:.3f} s")
    print(
        f"  values: {r['values_published']} samples in the window; worst subscriber saw "
        f"{100 * r['values_min_share']:.1f} %"
    )
    print(f"  API workers' CPU while only the streams ran: {r['api_cpu_cores']:.2f} cores")
    if r["failures"]:
        print(f"  {len(r['failures'])} API calls failed, first: {r['failures'][0]}", flush=True)


if __name__ == "__main__":
    main()
