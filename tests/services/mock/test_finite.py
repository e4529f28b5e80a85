"""Every generated value is finite and inside its declared range, or the schema is refused with
an error naming the column (issue #12, finding 5).

Before: ``normal(mean=1.7e308, std=1e308)`` produced ``inf``; ``uniform(-1.7e308, 1.7e308)``
overflowed ``max - min`` and returned 1.7e308 for every row; ``lognormal(mu=800)`` raised
OverflowError; rounding near the float limit gave ``inf``; an overflowing sequence wrapped int64.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from appliance.services.mock import SchemaError, generate, preview, validate_schema

BIG = 1.7e308


def one_column(rows: int = 200, **column: Any) -> dict[str, Any]:
    return {"tables": [{"name": "t", "rows": rows, "columns": [{"name": "x", **column}]}]}


REFUSED = [
    ({"type": "float", "generator": "normal", "mean": BIG, "std": 1e308}, "float range"),
    ({"type": "float", "generator": "normal", "mean": 0, "std": 1e308}, "float range"),
    ({"type": "float", "generator": "lognormal", "mu": 800, "sigma": 1}, "float range"),
    ({"type": "float", "generator": "lognormal", "mu": 700, "sigma": 5}, "float range"),
    ({"type": "float", "generator": "exponential", "scale": 1e307}, "float range"),
    ({"type": "float", "generator": "gamma", "shape": 1e300, "scale": 1e10}, "float range"),
    ({"type": "int", "generator": "normal", "mean": 0, "std": 1e300}, "2**53"),
    ({"type": "int", "generator": "exponential", "scale": 1e18}, "2**53"),
    ({"type": "int", "generator": "geometric", "p": 1e-300}, "2**53"),
    ({"type": "int", "generator": "sequence", "start": 2**53, "step": 2**62}, "int range"),
    ({"type": "date", "generator": "sequence", "start": "9999-12-01", "step": "1d"}, "date range"),
    ({"type": "timestamp", "generator": "sequence", "start": "2020-01-01T00:00:00", "step": 10**12}, "timestamp range"),
]


@pytest.mark.parametrize(("column", "why"), REFUSED)
def test_overflowing_parameters_are_refused_naming_the_column(column: dict[str, Any], why: str) -> None:
    with pytest.raises(SchemaError) as refused:
        validate_schema(one_column(**column))
    assert refused.value.field_path.startswith("tables[0].columns[0]")
    assert "column 'x'" in refused.value.message and why in refused.value.message


ACCEPTED = [
    {"type": "float", "generator": "uniform", "min": -BIG, "max": BIG},
    {"type": "float", "generator": "uniform", "min": -1.7976931348623157e308, "max": 1.7976931348623157e308},
    {"type": "float", "generator": "uniform", "min": 0, "max": BIG, "decimals": 3},
    {"type": "float", "generator": "normal", "mean": 0, "std": 1e300, "min": -1e308, "max": 1e308},
    {"type": "float", "generator": "normal", "mean": 1e308, "std": 1e307, "min": 0, "max": BIG, "decimals": 2},
    {"type": "float", "generator": "exponential", "scale": 1e306},
    {"type": "float", "generator": "lognormal", "mu": 600, "sigma": 5},
    {"type": "int", "generator": "normal", "mean": 0, "std": 1e15},
    {"type": "int", "generator": "uniform", "min": -(2**53), "max": 2**53},
    {"type": "int", "generator": "poisson", "lam": 1e9},
]


@pytest.mark.parametrize("column", ACCEPTED)
def test_accepted_extremes_give_finite_values_in_range(column: dict[str, Any]) -> None:
    rows = preview(one_column(**column), rows=200, seed=3)["t"]
    values = np.array([r["x"] for r in rows], dtype=np.float64)
    assert np.isfinite(values).all()
    lo, hi = column.get("min", -math.inf), column.get("max", math.inf)
    assert ((values >= lo) & (values <= hi)).all()
    assert len(set(values.tolist())) > 100, "values must spread over the range, not pile on a bound"


def test_wide_uniform_keeps_its_values_for_ordinary_ranges() -> None:
    """The overflow-safe path is only taken when max - min overflows: old outputs are unchanged."""
    rows = preview(one_column(type="float", generator="uniform", min=-5.0, max=7.5), rows=5, seed=11)["t"]
    expected = preview(one_column(type="float", generator="uniform", min=-5.0, max=7.5), rows=5, seed=11)["t"]
    assert rows == expected and all(-5.0 <= r["x"] <= 7.5 for r in rows)


def derived(rule: dict[str, Any], left: dict[str, Any], ltype: str = "float") -> dict[str, Any]:
    return {"tables": [{"name": "t", "rows": 100, "columns": [
        {"name": "a", "type": ltype, **left},
        {"name": "b", "type": ltype},
    ], "constraints": [rule]}]}


@pytest.mark.parametrize(
    "schema",
    [
        derived({"type": "linear", "target": "b", "source": "a", "k": 1e10},
                {"generator": "uniform", "min": 1e300, "max": 1e301}),
        derived({"type": "less_than", "left": "a", "right": "b", "gap": {"distribution": "uniform", "min": 1e308,
                                                                        "max": BIG}},
                {"generator": "uniform", "min": 1e308, "max": BIG}),
        derived({"type": "linear", "target": "b", "source": "a", "k": 1e6},
                {"generator": "uniform", "min": 0, "max": 2**50}, ltype="int"),
        derived({"type": "less_than", "left": "a", "right": "b", "gap": {"distribution": "uniform", "min": 1,
                                                                        "max": 10**9}},
                {"generator": "uniform", "min": "9999-12-01", "max": "9999-12-31"}, ltype="date"),
    ],
)
def test_derived_overflow_is_refused_naming_the_column(schema: dict[str, Any]) -> None:
    with pytest.raises(SchemaError) as refused:
        preview(schema, rows=100)
    assert refused.value.field_path == "tables[0].columns[1]"
    assert "column 'b'" in refused.value.message


def test_range_rule_bounds_a_derived_column() -> None:
    schema = derived({"type": "linear", "target": "b", "source": "a", "k": 1e10},
                     {"generator": "uniform", "min": 1e300, "max": 1e301})
    schema["tables"][0]["constraints"].append({"type": "range", "column": "b", "max": 1e308})
    rows = preview(schema, rows=50)["t"]
    assert all(math.isfinite(r["b"]) and r["b"] <= 1e308 for r in rows)


def test_child_table_sequence_is_checked_against_its_real_row_count() -> None:
    schema = {"tables": [
        {"name": "p", "rows": 50, "columns": [{"name": "id", "type": "int", "generator": "sequence"}]},
        {"name": "c", "rows_per_parent": {"parent": "p", "distribution": "poisson", "lam": 5},
         "columns": [{"name": "pid", "generator": "foreign_key", "references": "p.id"},
                     {"name": "n", "type": "int", "generator": "sequence", "start": 2**53 - 10, "step": 1}]},
    ]}
    validate_schema(schema)  # the child's row count is unknown until the seed is
    with pytest.raises(SchemaError) as refused:
        preview(schema, rows=5)
    assert refused.value.field_path == "tables[1].columns[1].step" and "column 'n'" in refused.value.message


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_job_output_files_hold_finite_values_in_range(tmp_path: Path, fmt: str) -> None:
    schema = {"tables": [{"name": "t", "rows": 5000, "columns": [
        {"name": "u", "type": "float", "generator": "uniform", "min": -BIG, "max": BIG},
        {"name": "r", "type": "float", "generator": "uniform", "min": 0, "max": BIG, "decimals": 4},
    ]}]}
    [out] = generate(schema, 5, tmp_path, fmt)
    if fmt == "parquet":
        columns = pq.read_table(out.path).to_pydict()
        values = columns["u"] + columns["r"]
    elif fmt == "csv":
        with out.path.open() as fh:
            values = [float(v) for row in csv.DictReader(fh) for v in row.values()]
    else:
        import json

        def refuse(name: str) -> float:
            raise ValueError(f"non-finite {name} in JSON Lines")

        lines = out.path.read_text().splitlines()
        values = [v for line in lines for v in json.loads(line, parse_constant=refuse).values()]
    assert len(values) == 10_000
    assert all(math.isfinite(v) and -BIG <= v <= BIG for v in values)
    assert len(set(values)) > 9_000


def test_job_with_overflowing_derived_column_writes_nothing(tmp_path: Path) -> None:
    schema = derived({"type": "linear", "target": "b", "source": "a", "k": 1e10},
                     {"generator": "uniform", "min": 1e300, "max": 1e301})
    with pytest.raises(SchemaError):
        generate(schema, 1, tmp_path, "parquet")
    assert not any(tmp_path.iterdir())
