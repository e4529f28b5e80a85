"""Every generator produces values of its column's type, and child tables check limits late."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from appliance.services.mock import SchemaError, generate, preview
from appliance.services.mock.validate_columns import GENERATORS

from .helpers import one_table

SPECS: dict[str, dict[str, Any]] = {
    "uniform": {"type": "float", "min": -1, "max": 1},
    "normal": {"type": "float", "mean": 0, "std": 1},
    "lognormal": {"type": "float", "mu": 0, "sigma": 1},
    "exponential": {"type": "float", "scale": 2},
    "gamma": {"type": "float", "shape": 2, "scale": 1},
    "poisson": {"type": "int", "lam": 4},
    "binomial": {"type": "int", "n": 10, "p": 0.3},
    "geometric": {"type": "int", "p": 0.2},
    "sequence": {"type": "date", "start": "2024-02-28", "step": "1d"},
    "category": {"type": "time", "categories": ["08:00", "12:30:15"]},
    "bernoulli": {"type": "bool"},
    "uuid": {"type": "string"},
    "pattern": {"type": "string", "pattern": r"X\d{2}"},
    "phone": {"type": "string"},
    "email": {"type": "string"},
    "words": {"type": "string", "min": 2, "max": 4},
    "first_name": {"type": "string"},
    "last_name": {"type": "string"},
    "name": {"type": "string"},
    "street_address": {"type": "string"},
    "address": {"type": "string"},
    "city": {"type": "string"},
    "country": {"type": "string"},
    "company": {"type": "string"},
    "domain": {"type": "string"},
    "constant": {"type": "string", "value": "same"},
}
ARROW = {"float": pa.float64(), "int": pa.int64(), "date": pa.date32(), "time": pa.time64("us"),
         "bool": pa.bool_(), "string": pa.string()}


def test_every_generator_is_covered() -> None:
    assert set(GENERATORS) - {"foreign_key", "derived"} == set(SPECS)


@pytest.mark.parametrize("gen", sorted(SPECS))
def test_generator_output_type(gen: str, tmp_path: Path) -> None:
    schema = one_table([{"name": "v", "generator": gen, **SPECS[gen]}], rows=500)
    rows = preview(schema, 500, seed=4)["t"]
    assert len(rows) == 500 and all(r["v"] is not None for r in rows)
    (f,) = generate(schema, 4, tmp_path, "parquet")
    import pyarrow.parquet as pq

    assert pq.read_schema(f.path).field("v").type == ARROW[SPECS[gen]["type"]]


def test_specific_shapes() -> None:
    cols = [
        {"name": "seq", "type": "date", "generator": "sequence", "start": "2024-02-28", "step": "1d"},
        {"name": "words", "type": "string", "generator": "words", "min": 2, "max": 4},
        {"name": "phone", "type": "string", "generator": "phone", "pattern": r"0\d{3} \d{6}"},
        {"name": "ts", "type": "timestamp", "generator": "sequence", "start": "2024-01-01T00:00:00Z",
         "step": "1h"},
    ]
    rows = preview(one_table(cols, rows=3), 3, seed=1)["t"]
    assert [r["seq"] for r in rows] == ["2024-02-28", "2024-02-29", "2024-03-01"]
    assert all(2 <= len(r["words"].split()) <= 4 for r in rows)
    assert all(re.fullmatch(r"0\d{3} \d{6}", r["phone"]) for r in rows)
    assert [r["ts"] for r in rows] == ["2024-01-01T00:00:00", "2024-01-01T01:00:00", "2024-01-01T02:00:00"]


def test_child_table_limits_are_checked_when_counts_are_known(tmp_path: Path) -> None:
    schema = {"tables": [
        {"name": "p", "rows": 100, "columns": [{"name": "id", "type": "int", "generator": "sequence"}]},
        {"name": "c", "rows_per_parent": {"parent": "p", "distribution": "uniform", "min": 2, "max": 3},
         "columns": [{"name": "p_id", "generator": "foreign_key", "references": "p.id"},
                     {"name": "code", "type": "int", "generator": "uniform", "min": 0, "max": 99, "unique": True}]},
    ]}
    with pytest.raises(SchemaError) as info:
        generate(schema, 1, tmp_path, "csv")
    assert info.value.field_path == "tables[1].columns[1].unique"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_peak_memory_is_flat_in_row_count(tmp_path: Path) -> None:
    bench = Path(__file__).resolve().parents[3] / "bench" / "mock.py"
    peaks = []
    for rows in (1_000_000, 5_000_000):
        out = subprocess.run([sys.executable, str(bench), "--child", str(rows), str(tmp_path / str(rows))],
                             check=True, capture_output=True, text=True).stdout
        peaks.append(float(out.split('"peak_mib": ')[1].split(",")[0]))
    assert peaks[1] < peaks[0] * 1.25, peaks
