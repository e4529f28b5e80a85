"""Benchmark (issue #15): each kind's estimated seconds against the job's actual run time.

Every case is a real job through the engine, in this process: the app from `create_app` on a temp
state dir, the job submitted over the Flask test client, then taken off its Huey queue and handed
to `huey.execute` (the path a `sealforge worker` consumer thread takes; see `InlineJobs` in
tests/conftest.py). Estimated seconds are the job's recorded `estimate_seconds` (what the 202 and
GET /v1/estimate answer); actual seconds are its `started_at` → `finished_at`. Cases run in one
process in the order below, so the first job of a kind pays its library imports, as the first job
in a fresh worker does.

    .venv/bin/python bench/estimates.py [--only mock,train] [--skip-long]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOUR, DAY, WEEK = 3600, 86_400, 7 * 86_400
EDUCATION = ["HS-grad", "Some-college", "Bachelors", "Masters", "Doctorate"]


def frame(rows: int, seed: int = 7) -> pd.DataFrame:
    """Adult-census-like rows: two ints, three categories (the shape the synth tests use)."""
    rng = np.random.default_rng(seed)
    education = rng.choice(EDUCATION, rows, p=[0.4, 0.25, 0.2, 0.1, 0.05])
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows),
            "workclass": rng.choice(["Private", "Self-emp", "Gov", "Other"], rows),
            "education": education,
            "hours": np.clip(rng.normal(40, 8, rows), 5, 90).round().astype(int),
            "income": rng.choice([">50K", "<=50K"], rows, p=[0.25, 0.75]),
        }
    )


class Bench:
    def __init__(self, state: Path) -> None:
        from appliance.api import create_app
        from appliance.services import identity
        from appliance.services.synth import offline
        from appliance.store.open import open_db

        offline.prepare(state)
        self.state = state
        app = create_app({"server": {"state_dir": str(state)}, "ratelimit": {"burst": 10**6, "rate_per_s": 1e6}})
        self.client = app.test_client()
        self.conn = open_db(state)
        tenant = identity.create_tenant(self.conn, "bench", credits=10**7)
        self.headers = {"X-API-Key": identity.create_key(self.conn, tenant["id"], ["generate"])["api_key"]}
        self.rows: list[tuple[str, float, float]] = []

    def upload(self, rows: int) -> str:
        body = frame(rows).to_csv(index=False).encode()
        response = self.client.post(
            "/v1/datasets",
            data=body,
            content_type="text/csv",
            query_string={"name": f"adult-{rows}.csv"},
            headers=self.headers,
        )
        assert response.status_code == 201, response.get_json()
        return str(response.get_json()["id"])

    def drain(self) -> None:
        from appliance.jobs.queues import QUEUES
        from appliance.jobs.tasks import runtime

        for queue in QUEUES:
            huey = runtime(self.state, queue).huey
            while (task := huey.dequeue()) is not None:
                huey.execute(task)

    def warm(self, body: dict[str, Any]) -> None:
        """Run a job whose time is not recorded (imports a fresh worker pays once)."""
        response = self.client.post("/v1/jobs", json=body, headers=self.headers)
        assert response.status_code == 202, response.get_json()
        self.drain()

    def run(self, label: str, body: dict[str, Any], path: str = "/v1/jobs") -> dict[str, Any]:
        response = self.client.post(path, json=body, headers=self.headers)
        assert response.status_code == 202, response.get_json()
        job_id = response.get_json()["id"]
        self.drain()
        row = self.conn.execute(
            "SELECT status, estimate_seconds, started_at, finished_at, result FROM jobs WHERE id = ?", (job_id,)
        ).fetchone()
        assert row["status"] == "succeeded", (label, dict(row))
        actual = (
            datetime.fromisoformat(row["finished_at"]) - datetime.fromisoformat(row["started_at"])
        ).total_seconds()
        est = float(row["estimate_seconds"])
        self.rows.append((label, est, actual))
        print(
            f"{label:<60} est {est:>8.2f}  actual {actual:>8.2f}  ratio {actual / est:.2f}",
            flush=True,
        )
        return {"id": job_id, "result": row["result"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="", help="comma-separated groups: mock,sim,scenario,synth,profile")
    parser.add_argument("--skip-long", action="store_true", help="leave out the 1-day simulate runs")
    parser.add_argument("--week", action="store_true", help="add a week of water simulate (about 20 s)")
    args = parser.parse_args()
    groups = set(filter(None, args.only.split(","))) or {"mock", "sim", "scenario", "synth", "profile"}

    with tempfile.TemporaryDirectory() as tmp:
        b = Bench(Path(tmp))
        if "mock" in groups:
            for rows in (10_000, 100_000, 1_000_000):
                b.run(
                    f"mock {rows:,} rows (description)",
                    {"rows": rows, "description": "customer transaction records"},
                    "/v1/mock/jobs",
                )
        if "sim" in groups:
            cases = [("water", HOUR), ("power", HOUR), ("chemical", HOUR)]
            if not args.skip_long:
                cases += [("water", DAY), ("power", DAY), ("chemical", DAY)]
            if args.week:
                cases.append(("water", WEEK))
            for plant, duration in cases:
                b.run(
                    f"simulate {plant} {duration // 3600} h",
                    {"kind": "simulate", "params": {"plant": plant, "duration": duration}, "seed": 1},
                )
        if "scenario" in groups:
            for duration in (HOUR, DAY):
                params = {
                    "plant": "water",
                    "duration": duration,
                    "mix": [{"technique": "T0831", "count": 2}],
                    "intensity": 0.6,
                }
                b.run(
                    f"scenario_fabricate water {duration // 3600} h",
                    {"kind": "scenario_fabricate", "params": params, "seed": 1},
                )
        if "synth" in groups:
            small, large = b.upload(300), b.upload(5_000)
            # a long-lived worker pays SDV's and torch's imports once; warm them so the table is per job
            b.warm({"kind": "train", "inputs": [small], "params": {"synthesizer": "ctgan", "epochs": 1}})
            b.run("train gaussian_copula 300 rows", {"kind": "train", "inputs": [small], "seed": 5})
            b.run("train gaussian_copula 5,000 rows", {"kind": "train", "inputs": [large], "seed": 5})
            b.run(
                "train ctgan 5 epochs 300 rows",
                {"kind": "train", "inputs": [small], "seed": 5, "params": {"synthesizer": "ctgan", "epochs": 5}},
            )
            b.run(
                "train ctgan 20 epochs 300 rows",
                {"kind": "train", "inputs": [small], "seed": 5, "params": {"synthesizer": "ctgan", "epochs": 20}},
            )
            model = b.conn.execute(
                "SELECT id FROM models WHERE synthesizer = 'gaussian_copula' ORDER BY created_at LIMIT 1"
            ).fetchone()["id"]
            for rows in (1_000, 10_000):
                b.run(
                    f"synthesize {rows:,} rows from a model",
                    {"kind": "synthesize", "params": {"model_id": model, "rows": rows}, "seed": 3},
                )
            b.run(
                "synthesize 1,000 rows from a 300-row dataset (train + sample)",
                {"kind": "synthesize", "inputs": [small], "params": {"rows": 1_000}, "seed": 4},
            )
        if "profile" in groups:
            big = b.upload(100_000)
            b.run("analyze 100,000-row upload", {"kind": "analyze", "inputs": [big]})
            b.run("fit 100,000-row upload", {"kind": "fit", "inputs": [big]})

        print("\n| case | estimated s | actual s | actual/estimate |\n|---|---:|---:|---:|")
        for label, est, actual in b.rows:
            print(f"| {label} | {est:.2f} | {actual:.2f} | {actual / est:.2f} |")


if __name__ == "__main__":
    main()
