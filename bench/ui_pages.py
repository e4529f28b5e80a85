"""Web UI pages beside the API answers they are built from: server time per request, in one run.

A fresh state dir gets one tenant, a user, ``--jobs`` queued mock jobs (on the `gpu` queue, which
no worker serves, so they stay put), ``--sealed`` jobs run to success and sealed in this process,
and ``--runs`` live water runs reserved through the API (no `sim` worker, so they stay `starting`,
which the overview lists as live), each given a minute of trend history, a latest sample and a
raised alarm as a run's worker would write them.
Then, through the app in this process (no network, no client parsing: the server's own time), each
page and its API peer are asked ``--requests`` times in turn with the same session cookie, and the
p50 and p95 of each are printed with the ratio page p95 / API p95. The issue's budget for a page is
p95 <= 100 ms with 10 live runs and 1,000 jobs in the store.

    .venv/bin/python bench/ui_pages.py [--jobs 1000] [--sealed 20] [--runs 10] [--requests 200]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._load import percentile  # noqa: E402

PASSWORD = "bench password, long enough"
HISTORY_S = 3600  # trend history each live run has
SCHEMA = {
    "tables": [
        {
            "name": "readings",
            "rows": 50,
            "columns": [
                {"name": "id", "type": "int", "generator": "sequence"},
                {"name": "flow", "type": "float", "generator": "normal", "mean": 10, "std": 2},
            ],
        }
    ]
}


def prepare(state: Path, jobs: int, sealed: int, runs: int) -> tuple[Any, str, list[str], list[str]]:
    """The app, a logged-in client's cookie jar in the returned client, the sealed job ids and the runs."""
    from appliance.api import create_app
    from appliance.jobs.queues import QUEUES
    from appliance.jobs.tasks import runtime
    from appliance.services import identity
    from appliance.store.open import open_db

    app = create_app({
        "server": {"state_dir": str(state)}, "ratelimit": {"enabled": False},
        "scada": {"max_runs": runs, "max_runs_per_tenant": runs},
    })
    db = open_db(state)
    tenant = identity.create_tenant(db, "bench", credits=10_000)
    key = identity.create_key(db, tenant["id"], ["generate"])["api_key"]
    identity.create_user(db, tenant["id"], "bench@plant.example", PASSWORD, ["generate"])
    client = app.test_client()
    headers = {"X-API-Key": key}
    sealed_ids = []
    for n in range(jobs + sealed):
        queue = "default" if n < sealed else "gpu"
        answer = client.post("/v1/jobs", json={"kind": "mock", "queue": queue, "params": {"schema": SCHEMA}},
                             headers=headers)
        assert answer.status_code == 202, answer.get_json()
        if n < sealed:
            sealed_ids.append(answer.get_json()["id"])
    for queue in QUEUES:
        if queue == "gpu":
            continue
        huey = runtime(state, queue).huey
        while (task := huey.dequeue()) is not None:
            huey.execute(task)
    run_ids = [_live_run(client, headers, db, str(tenant["id"])) for _ in range(runs)]
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    landed = client.post("/login", data={"email": "bench@plant.example", "password": PASSWORD,
                                         "csrf_token": token.group(1)})
    assert landed.status_code == 303
    return client, key, sealed_ids, run_ids


def _live_run(client: Any, headers: dict[str, str], db: Any, tenant_id: str) -> str:
    """A water run reserved through the API, with what its worker would have written by now: an
    hour of trend history at 1 Hz (and its minute rollups), the latest values, an active alarm."""
    import math
    import socket

    from appliance.clock import now_iso
    from appliance.services import trends
    from appliance.store import scada as scada_store
    from appliance.store import scada_alarms as scada_alarms_store
    from appliance.store.db import transaction
    from simulators.validation import format_ms

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    answer = client.post("/v1/scada/runs", json={"plant": "water", "modbus": {"port": port}}, headers=headers)
    assert answer.status_code == 202, answer.get_json()
    run_id = str(answer.get_json()["id"])
    names = [t["name"] for t in trends.plant_tags("water")]
    rollup = trends.MinuteRollup()
    start_ms = int(time.time() * 1000) - HISTORY_S * 1000
    with transaction(db):
        for i in range(HISTORY_S):
            values = {n: 2.0 + math.sin(i / 600 + k) for k, n in enumerate(names)}
            snapshot = {"timestamp": format_ms(start_ms + i * 1000), "values": values, "attack_id": ""}
            trends.record(db, run_id, names, snapshot, False, rollup)
        scada_store.put_values(db, run_id, HISTORY_S, now_iso(), snapshot)
        scada_alarms_store.raise_alarm(db, {
            "id": f"alm_{run_id}", "run_id": run_id, "tenant_id": tenant_id, "tag": "LIT101",
            "description": "tank high", "priority": 2, "raised_at": now_iso(), "scan": HISTORY_S,
            "active_attacks": "[]",
        })
    return run_id


def timed(client: Any, path: str, requests: int) -> list[float]:
    out = []
    for _ in range(requests):
        start = time.perf_counter()
        answer = client.get(path)
        answer.get_data()
        out.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--sealed", type=int, default=20)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        client, _, sealed, runs = prepare(Path(tmp) / "var", args.jobs, args.sealed, args.runs)
        print(f"store: {args.jobs} queued + {len(sealed)} sealed jobs, {len(runs)} live runs,"
              f" made in {time.perf_counter() - started:.1f} s")
        job, run = sealed[-1], runs[-1]
        pairs = [
            ("overview /", "/", "/v1/jobs?limit=10"),
            ("overview live part", "/overview/live", "/v1/jobs?limit=10"),
            ("jobs list", "/jobs", "/v1/jobs"),
            ("jobs, state filter", "/jobs?status=succeeded", "/v1/jobs?status=succeeded"),
            ("job page", f"/jobs/{job}", f"/v1/jobs/{job}"),
            ("evidence list", "/evidence", "/v1/seals"),
            ("seal page", f"/evidence/{job}", f"/v1/seals?job_id={job}"),
            ("live plants", "/plant", "/v1/scada/runs"),
            ("live plant (mimic)", f"/plant/{run}", f"/v1/scada/runs/{run}"),
            ("trends page", f"/plant/{run}/trends", f"/v1/scada/runs/{run}/trend?tags=LIT101,LIT102,FIT101&last=600"),
            ("point map", f"/plant/{run}/points", f"/v1/scada/runs/{run}/map"),
            ("alarms", "/alarms", "/v1/scada/alarms/active"),
        ]
        print(f"{'page':<22}{'page p50':>10}{'page p95':>10}{'API p50':>10}{'API p95':>10}{'ratio':>8}   (ms)")
        for name, page, api in pairs:
            timed(client, page, 5)  # warm: templates compiled, caches filled
            timed(client, api, 5)
            page_ms, api_ms = timed(client, page, args.requests), timed(client, api, args.requests)
            p95, a95 = percentile(page_ms, 95), percentile(api_ms, 95)
            print(f"{name:<22}{percentile(page_ms, 50):>10.1f}{p95:>10.1f}{percentile(api_ms, 50):>10.1f}"
                  f"{a95:>10.1f}{p95 / a95:>8.2f}")


if __name__ == "__main__":
    main()
