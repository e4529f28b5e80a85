"""Benchmark: what `create_app` costs, beside stock flask-smorest serving the same blueprints.

`create_app` runs once in every gunicorn worker at boot, in every CLI command that needs the app,
and in about 1,500 tests (each on a fresh state dir). Per source tree (default: this one; e.g. a
`git archive` of an older commit beside it) a child process imports the tree's `appliance.api`
and measures, in CPU seconds of that process (`time.process_time`, so other work on a shared box
weighs less):

- the import of `appliance.api` (once, cold: the first thing the child does);
- `create_app` on a fresh, empty state dir (migrations from zero: what a test's app pays);
- `create_app` on a state dir another process already migrated (what a worker's boot pays);
- the peer: a stock `flask_smorest.Api` on a bare Flask app registering the same blueprints
  (each blueprint's OpenAPI part built as it registers, no aliases, no database);
- the first read of the OpenAPI document after `create_app` (paid by /openapi.json and the docs).

Each figure is the median of ``--runs`` calls after one warm-up call.

    .venv/bin/python bench/app_start.py [--trees DIR ...] [--runs 30]
    git archive <commit> | tar -x -C /tmp/before
    .venv/bin/python bench/app_start.py --trees /tmp/before .
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, shutil, statistics, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, sys.argv[1])
runs = int(sys.argv[2])
started = time.process_time()
import appliance.api as api_module
import_s = time.process_time() - started

from flask import Flask
from flask_smorest import Api as StockApi

from appliance.api import BLUEPRINTS, create_app
from appliance.cli.release import release
from appliance.store.open import prepare_state_dir

tmp = Path(tempfile.mkdtemp(prefix="app-start-"))
counter = iter(range(10**6))


def fresh() -> Path:
    path = tmp / f"var{next(counter)}"
    path.mkdir()
    return path


def config(state: Path) -> dict:
    return {"server": {"state_dir": str(state)}}


template = fresh()
prepare_state_dir(template)  # a state dir at head, as a booted appliance leaves it


def migrated() -> Path:
    path = tmp / f"var{next(counter)}"
    shutil.copytree(template, path)
    return path


def timed(make_state, build) -> float:
    samples = []
    for i in range(runs + 1):
        state = make_state()
        began = time.process_time()
        build(state)
        if i:
            samples.append(time.process_time() - began)
        release(state)
    return statistics.median(samples)


def stock(state: Path) -> None:
    app = Flask("peer", static_folder=None)
    app.config.update(API_TITLE="Sealforge", API_VERSION="1", OPENAPI_VERSION="3.1.0")
    peer = StockApi(app)
    for blueprint in BLUEPRINTS:
        peer.register_blueprint(blueprint)


def spec_read(state: Path) -> None:
    app = create_app(config(state))
    began = time.process_time()
    app.extensions["sealforge_api"].spec.to_dict()
    spec_samples.append(time.process_time() - began)


spec_samples: list = []
result = {
    "import_s": import_s,
    "fresh_s": timed(fresh, lambda s: create_app(config(s))),
    "at_head_s": timed(migrated, lambda s: create_app(config(s))),
    "peer_s": timed(fresh, stock),
}
timed(migrated, spec_read)
result["spec_s"] = statistics.median(spec_samples[1:])
shutil.rmtree(tmp)
print(json.dumps(result))
"""


def measure(tree: Path, runs: int) -> dict[str, float]:
    """The figures of one tree, from a child process that imports only that tree's `appliance`."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(tree), str(runs)], cwd=tree, check=True,
                         capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", nargs="+", type=Path, default=[ROOT])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    rows = [("import appliance.api", "import_s"), ("create_app, fresh state dir", "fresh_s"),
            ("create_app, state dir at head", "at_head_s"), ("first OpenAPI read", "spec_s"),
            ("peer: stock flask-smorest, same blueprints", "peer_s")]
    results = [(tree, measure(tree.resolve(), args.runs)) for tree in args.trees]
    print(f"{'CPU ms (median of ' + str(args.runs) + ')':<44}" + "".join(f"{t.name or str(t):>14}" for t, _ in results))
    for label, key in rows:
        print(f"{label:<44}" + "".join(f"{r[key] * 1000:>14.1f}" for _, r in results))
    for tree, r in results:
        print(f"{tree.name or str(tree)}: create_app/peer {r['fresh_s'] / r['peer_s']:.2f}x (fresh state dir), "
              f"{r['at_head_s'] / r['peer_s']:.2f}x (state dir at head)")
    if len(results) > 1:
        first, last = results[0][1], results[-1][1]
        print(f"last/first tree: fresh {last['fresh_s'] / first['fresh_s']:.2f}x, "
              f"at head {last['at_head_s'] / first['at_head_s']:.2f}x")


if __name__ == "__main__":
    main()
