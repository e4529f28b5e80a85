"""Benchmark: Sealforge mock data beside Faker and Mimesis on the same 10-column table.

Three measurements, printed side by side:

1. Generation speed (rows/s, in memory). Sealforge builds Arrow batches for N rows; Faker (row by
   row, its only API) and Mimesis (column-wise ``Fieldset``, its fastest API) are timed on a smaller
   N and their per-row cost is extrapolated, since both are orders of magnitude slower.
2. 1,000,000 rows x 10 columns written to Parquet end to end in a fresh process (goal: <= 1 s;
   best and median of three runs).
3. Peak resident memory of a fresh process writing 1M and 10M rows (goal: flat), read from
   ``resource.getrusage`` (Arrow allocates outside Python's heap, so tracemalloc would miss it).

    .venv/bin/python bench/mock.py [--rows 1000000] [--peer-rows 20000] [--big-rows 10000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from appliance.services.mock import generate, validate_schema  # noqa: E402
from appliance.services.mock.engine import TableEngine  # noqa: E402
from appliance.services.mock.relations import Layout  # noqa: E402

COLUMNS: list[dict[str, Any]] = [
    {"name": "id", "type": "int", "generator": "sequence"},
    {"name": "name", "type": "string", "generator": "name"},
    {"name": "email", "type": "string", "generator": "email"},
    {"name": "age", "type": "int", "generator": "normal", "mean": 40, "std": 12, "min": 18, "max": 90},
    {"name": "country", "type": "string", "generator": "country"},
    {"name": "signup", "type": "timestamp", "generator": "uniform", "min": "2020-01-01T00:00:00",
     "max": "2024-12-31T23:59:59"},
    {"name": "balance", "type": "float", "generator": "lognormal", "mu": 7, "sigma": 1, "decimals": 2},
    {"name": "active", "type": "bool", "generator": "bernoulli", "p": 0.7},
    {"name": "sku", "type": "string", "generator": "pattern", "pattern": r"[A-Z]{3}-\d{5}"},
    {"name": "score", "type": "float", "generator": "uniform", "min": 0, "max": 1},
]


def schema(rows: int) -> dict[str, Any]:
    return {"tables": [{"name": "people", "rows": rows, "columns": COLUMNS}]}


def sealforge_rows(n: int) -> int:
    norm = validate_schema(schema(n))
    engine = TableEngine(norm, norm.tables[0], 1, Layout(norm, 1))
    return sum(batch.num_rows for batch in engine.batches(65_536))


def faker_rows(n: int) -> int:
    from faker import Faker

    fake = Faker("en_US")
    Faker.seed(1)
    rng = random.Random(1)
    start, end = dt.datetime(2020, 1, 1), dt.datetime(2024, 12, 31, 23, 59, 59)
    rows = [
        {
            "id": i,
            "name": fake.name(),
            "email": fake.email(),
            "age": min(90, max(18, round(rng.gauss(40, 12)))),
            "country": fake.country(),
            "signup": fake.date_time_between(start_date=start, end_date=end),
            "balance": round(rng.lognormvariate(7, 1), 2),
            "active": fake.pybool(),
            "sku": fake.bothify("???-#####", letters="ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
            "score": rng.random(),
        }
        for i in range(n)
    ]
    return len(rows)


def mimesis_rows(n: int) -> int:
    from mimesis import Fieldset, Locale

    fs = Fieldset(locale=Locale.EN, i=n, seed=1)
    columns = {
        "id": list(range(n)),
        "name": fs("person.full_name"),
        "email": fs("person.email"),
        "age": fs("numeric.integer_number", start=18, end=90),
        "country": fs("address.country"),
        "signup": fs("datetime.datetime", start=2020, end=2024),
        "balance": fs("numeric.float_number", start=0, end=10_000, precision=2),
        "active": fs("development.boolean"),
        "sku": fs("random.generate_string_by_mask", mask="@@@-#####"),
        "score": fs("numeric.float_number", start=0, end=1),
    }
    return len(columns["id"])


def timed(fn: Callable[[int], int], n: int) -> float:
    start = time.perf_counter()
    fn(n)
    return time.perf_counter() - start


def child(rows: int, out: str) -> None:
    """Run in a fresh process: write ``rows`` rows to Parquet, print seconds and peak RSS."""
    start = time.perf_counter()
    (written,) = generate(schema(rows), 1, out, "parquet")
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": written.rows, "seconds": seconds, "peak_mib": peak_kib / 1024,
                      "bytes": written.path.stat().st_size}))


def baseline_rss() -> float:
    """Peak RSS of a process that only imports the engine (the floor every run pays)."""
    code = ("import resource, appliance.services.mock, scipy.stats, pyarrow.parquet;"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    return float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                                cwd=ROOT).stdout)


def in_child(rows: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, __file__, "--child", str(rows), tmp], check=True,
                             capture_output=True, text=True, cwd=ROOT).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for Sealforge speed and Parquet runs")
    parser.add_argument("--peer-rows", type=int, default=20_000, help="rows timed for Faker and Mimesis")
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="rows for the flat-memory check")
    parser.add_argument("--child", nargs=2, metavar=("ROWS", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), args.child[1])
        return

    print(f"schema: 10 columns ({', '.join(c['name'] for c in COLUMNS)})\n")
    sealforge_rows(10_000)  # warm caches (word lists, scipy) outside the timing
    ours = args.rows / timed(sealforge_rows, args.rows)
    print(f"{'generator':<34}{'rows timed':>12}{'rows/s':>14}{'Sealforge is':>14}{f's for {args.rows:,}':>16}")
    print(f"{'Sealforge mock (Arrow batches)':<34}{args.rows:>12,}{ours:>14,.0f}{'1x':>14}"
          f"{args.rows / ours:>16.2f}")
    for label, fn in (("Faker 40 (row by row)", faker_rows), ("Mimesis 22 (Fieldset, columnar)", mimesis_rows)):
        try:
            fn(100)
        except ImportError:
            print(f"{label:<34}{'not installed':>12}")
            continue
        rate = args.peer_rows / timed(fn, args.peer_rows)
        print(f"{label:<34}{args.peer_rows:>12,}{rate:>14,.0f}{ours / rate:>13,.0f}x{args.rows / rate:>16.1f}")
    print(f"(Faker and Mimesis timed on {args.peer_rows:,} rows; their time for {args.rows:,} rows is "
          "extrapolated from that per-row cost)\n")

    floor = baseline_rss()
    small = sorted((in_child(args.rows) for _ in range(3)), key=lambda r: r["seconds"])
    runs = [small[0], in_child(args.big_rows)]
    print(f"{'Parquet (fresh process)':<26}{'seconds':>10}{'rows/s':>14}{'MB on disk':>12}{'peak RSS MiB':>14}"
          f"{'above import':>14}")
    for run in runs:
        print(f"{run['rows']:>14,} rows{'':<7}{run['seconds']:>10.2f}{run['rows'] / run['seconds']:>14,.0f}"
              f"{run['bytes'] / 1e6:>12.1f}{run['peak_mib']:>14.0f}{run['peak_mib'] - floor:>14.0f}")
    growth = (runs[1]["peak_mib"] - floor) / max(runs[0]["peak_mib"] - floor, 1.0)
    print(f"import-only process peak RSS: {floor:.0f} MiB; memory above it grows {growth:.2f}x for "
          f"{args.big_rows / args.rows:.0f}x the rows")
    goal = "met" if runs[0]["seconds"] <= 1.0 else "missed"
    print(f"goal {args.rows:,} x 10 to Parquet <= 1 s: {goal} (best of 3 {small[0]['seconds']:.2f} s, "
          f"median {small[1]['seconds']:.2f} s; the machine's 2 cores are shared, so expect noise)")


if __name__ == "__main__":
    main()
