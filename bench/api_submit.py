"""Benchmark: job submit latency, before and after a change, in one run (issue #14).

Serves the appliance from each given source tree (default: this one; e.g. a `git archive` of an
older commit beside the current one), each on its own port and state dir with the gunicorn
settings `sealforge api` uses, and drives `POST /v1/mock/jobs` (submit only, no worker running) in
turns: per repeat and per tree, one closed-loop run (`wrk`, each of ``--submitters`` connections
sends again as soon as it is answered) and one paced run (each submitter one submit every
``1/--paced-per-s`` s, open loop, latency from the scheduled send time); the order of the trees
swaps every repeat, so load from other work on a shared box falls on all alike. Prints every run
and the range over the repeats: req/s, p50, p99, server CPU per submit, bad answers.

    .venv/bin/python bench/api_submit.py [--trees DIR ...] [--repeats 3] [--seconds 8]
                                         [--submitters 50] [--paced-per-s 1]

Needs `wrk` (Debian: `apt-get install wrk`). Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_wrk import ROOT, SCHEMA, SUBMIT_LUA, WrkResult, free_port, measured, paced_submits, row, stop, wait_up, wrk

SETUP = """
import json, sys
sys.path.insert(0, sys.argv[1])
from appliance.services import identity
from appliance.store.open import open_db, restrict_umask
restrict_umask()
conn = open_db(__import__("pathlib").Path(sys.argv[2]))
tenant = identity.create_tenant(conn, "bench", credits=1_000_000_000)
key = identity.create_key(conn, tenant["id"], ["generate", "read"], name="bench")["api_key"]
print(json.dumps(key))
"""


@dataclass
class Served:
    label: str
    tree: Path
    port: int
    key: str
    script: Path
    proc: subprocess.Popen[bytes]
    closed: list[WrkResult] = field(default_factory=list)
    paced: list[WrkResult] = field(default_factory=list)


def serve(label: str, tree: Path, tmp: Path, worker_class: str | None, workers: int | None) -> Served:
    """The appliance of ``tree`` on a free port over a new state dir, with a tenant and a key made
    by that tree's own code (its migrations, its schema)."""
    state = tmp / f"var-{label}"
    key = json.loads(subprocess.run([sys.executable, "-c", SETUP, str(tree), str(state)], check=True,
                                    capture_output=True, text=True).stdout)
    script = tmp / f"submit-{label}.lua"
    body = json.dumps({"params": {"schema": SCHEMA}, "seed": 1})
    script.write_text(SUBMIT_LUA.format(body=json.dumps(body), key=json.dumps(key)))
    env = {
        **os.environ,
        "SEALFORGE_STATE_DIR": str(state),
        "SEALFORGE_RATELIMIT_BURST": "100000000",
        "SEALFORGE_RATELIMIT_RATE_PER_S": "100000000",
    }
    port = free_port()
    cmd = [sys.executable, str(tree / "bench" / "_serve_api.py"), "appliance", str(port), str(state)]
    if worker_class:
        cmd += ["--worker-class", worker_class]
    if workers:
        cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    wait_up(port, {"X-API-Key": key})
    return Served(label, tree, port, key, script, proc)


def spread(values: list[float], fmt: str) -> str:
    return f"{min(values):{fmt}}-{max(values):{fmt}}" if len(values) > 1 else f"{values[0]:{fmt}}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", nargs="+", type=Path, default=[ROOT], help="source trees to serve (default: this)")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--submitters", type=int, default=50)
    parser.add_argument("--paced-per-s", type=float, default=1.0)
    parser.add_argument("--worker-class", default=None, help="default: what `sealforge api` uses")
    parser.add_argument("--workers", type=int, default=None, help="API worker processes (default: as `sealforge api`)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    body = json.dumps({"params": {"schema": SCHEMA}, "seed": 1})
    with tempfile.TemporaryDirectory() as tmp:
        served: list[Served] = []
        try:
            for index, tree in enumerate(args.trees):
                label = f"{index + 1}-{tree.resolve().name}"
                served.append(serve(label, tree.resolve(), Path(tmp), args.worker_class, args.workers))
            for s in served:  # warm-up: one submit alone (the first loads the kind's libraries), then wrk
                first = urllib.request.Request(
                    f"http://127.0.0.1:{s.port}/v1/mock/jobs", data=body.encode(), method="POST",
                    headers={"X-API-Key": s.key, "Content-Type": "application/json"},
                )
                urllib.request.urlopen(first, timeout=120).read()
                wrk(f"http://127.0.0.1:{s.port}/v1/mock/jobs", args.submitters, 2, script=s.script)
            for repeat in range(args.repeats):
                for s in served if repeat % 2 == 0 else reversed(served):
                    url = f"http://127.0.0.1:{s.port}/v1/mock/jobs"
                    s.closed.append(measured(s.proc, url, args.submitters, args.seconds, script=s.script))
                    s.paced.append(
                        paced_submits(s.port, s.key, body, args.submitters, args.paced_per_s, args.seconds)
                    )
        finally:
            for s in served:
                stop(s.proc)

    print(f"POST /v1/mock/jobs, {args.submitters} submitters, {args.repeats} x {args.seconds:g} s per mode and tree")
    print(f"{'':<44}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'cpu us':>10}{'bad':>8}")
    for s in served:
        for index, (c, p) in enumerate(zip(s.closed, s.paced, strict=True)):
            print(row(f"{s.label[:24]} closed #{index + 1}", c))
            print(row(f"{s.label[:24]} paced {args.paced_per_s:g}/s #{index + 1}", p))
    print("ranges over the repeats (min-max):")
    for s in served:
        for mode, runs in (("closed", s.closed), ("paced", s.paced)):
            print(
                f"  {s.label:<28}{mode:<8} req/s {spread([r.rps for r in runs], '.0f')},"
                f" p50 {spread([r.p50_ms for r in runs], '.1f')} ms, p99 {spread([r.p99_ms for r in runs], '.0f')} ms"
                + (f", cpu {spread([r.cpu_us for r in runs], '.0f')} us/submit" if mode == "closed" else "")
            )


if __name__ == "__main__":
    main()
