"""20 open live-plant tabs and the API's p99, in one run: without the tabs, then with them.

A live-plant tab holds one `EventSource` on ``/v1/scada/runs/{id}/values`` (docs/ui.md): up to ten
samples a second from the API's one poller. This starts the API as `sealforge api` serves it (one
gevent worker), a `sim` worker and one live water run at real time, puts ``--jobs`` queued jobs in
the store (GET /v1/jobs lists a full page), then:

* **without tabs**: ``wrk`` (native, so the client takes no Python CPU) drives GET /healthz and
  GET /v1/jobs for ``--seconds`` each: p50, p99, requests, failures;
* **with tabs**: ``--tabs`` streams on the run's values are opened (the tabs' only traffic; the
  faceplate trend is read once when a tag is picked), and the same ``wrk`` runs again; each tab's
  count of samples received is printed beside the samples the run published meanwhile.

The peer is the same API without the tabs. The issue's budget: 20 open live-plant tabs keep the
API's p99 within its budget (50 ms, docs/benchmarks.md); the ratio with / without is printed.

    .venv/bin/python bench/ui_tabs.py [--tabs 20] [--jobs 200] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._load import free_port  # noqa: E402
from bench.streams import (  # noqa: E402
    Stream,
    call,
    prepare,
    start_api,
    start_sim_worker,
    stop,
    wait_healthy,
    wrk,
)

BUDGET_P99_MS = 50.0


async def measure(port: int, key: str, args: argparse.Namespace) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    loop = asyncio.get_running_loop()
    body = {"plant": "water", "seed": 1, "duration": 3600, "modbus": {"port": free_port()}}
    run = await loop.run_in_executor(None, call, base, key, "POST", "/v1/scada/runs", body)
    for _ in range(600):
        view = await loop.run_in_executor(None, call, base, key, "GET", f"/v1/scada/runs/{run['id']}")
        if view["status"] == "running":
            break
        await asyncio.sleep(0.1)
    columns = [{"name": "id", "type": "int", "generator": "sequence"}]
    schema = {"tables": [{"name": "t", "rows": 5, "columns": columns}]}
    job = {"kind": "mock", "queue": "gpu", "params": {"schema": schema}}
    for _ in range(args.jobs):
        await loop.run_in_executor(None, call, base, key, "POST", "/v1/jobs", job)

    out: dict[str, Any] = {}
    out["without"] = {
        "healthz": await loop.run_in_executor(None, wrk, f"{base}/healthz", key, args.seconds),
        "jobs": await loop.run_in_executor(None, wrk, f"{base}/v1/jobs", key, args.seconds),
    }
    tabs = [Stream() for _ in range(args.tabs)]
    for tab in tabs:
        tab.task = asyncio.create_task(tab.run(port, f"/v1/scada/runs/{run['id']}/values", key))
    await asyncio.sleep(2)
    out["opened"] = sum(1 for tab in tabs if tab.status == 200)
    started = time.monotonic()
    out["with"] = {
        "healthz": await loop.run_in_executor(None, wrk, f"{base}/healthz", key, args.seconds),
        "jobs": await loop.run_in_executor(None, wrk, f"{base}/v1/jobs", key, args.seconds),
    }
    ended = time.monotonic()
    await asyncio.sleep(1)  # a sample published just before the end is still on its way
    # The samples published while wrk ran (every seq any tab got then), and each tab's share of
    # them, whenever it got them.
    seen = {seq for tab in tabs for t, e, seq in tab.ids if e == "values" and started <= t <= ended}
    window = set(range(min(seen), max(seen) + 1)) if seen else set()
    out["published"] = len(window)
    shares = [len(window & {seq for _, e, seq in tab.ids if e == "values"}) / len(window) for tab in tabs]
    out["worst_share"] = min(shares) if window and shares else 0.0
    for tab in tabs:
        assert tab.task is not None
        tab.task.cancel()
    await loop.run_in_executor(None, call, base, key, "POST", f"/v1/scada/runs/{run['id']}/stop")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sealforge-ui-tabs-"))
    state = work / "var"
    _, key = prepare(state)
    port = free_port()
    api = start_api(state, port, "gevent", work / "api.log")
    sim = start_sim_worker(state, work / "sim.log")
    try:
        wait_healthy(port)
        r = asyncio.run(measure(port, key, args))
    finally:
        stop(sim)
        stop(api)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{os.cpu_count()} CPUs; one live water run at real time; {args.jobs} jobs in the store")
    print(f"{r['opened']} of {args.tabs} live-plant tabs open (one values stream each)")
    print(f"{'':<14}{'without tabs p50/p99':>24}{'with tabs p50/p99':>22}{'p99 ratio':>11}   (ms)")
    for name, path in (("healthz", "GET /healthz"), ("jobs", "GET /v1/jobs")):
        a, b = r["without"][name], r["with"][name]
        print(
            f"{path:<14}{a['p50']:>11.1f} /{a['p99']:>8.1f}{'':>4}{b['p50']:>9.1f} /{b['p99']:>8.1f}"
            f"{b['p99'] / a['p99']:>11.2f}   requests {a['requests']:.0f} / {b['requests']:.0f},"
            f" failed {a['failed']:.0f} / {b['failed']:.0f}"
        )
    worst = max(r["with"][n]["p99"] for n in ("healthz", "jobs"))
    print(f"budget: p99 <= {BUDGET_P99_MS:.0f} ms with the tabs open: worst {worst:.1f} ms"
          f" ({'within' if worst <= BUDGET_P99_MS else 'OVER'})")
    print(f"tabs: {r['published']} samples published while measured; the worst tab got {100 * r['worst_share']:.1f} %")


if __name__ == "__main__":
    main()
