"""Correlations, constraints, foreign keys, uniqueness and null rates hold on generated data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from appliance.services.mock import generate

from .helpers import one_table, wide


def _table(tmp_path: Path, schema: dict, seed: int = 1, name: str = "t"):
    files = generate(schema, seed, tmp_path, "parquet")
    return {f.table: pq.read_table(f.path) for f in files}[name]


MARGINALS = [
    {"type": "float", "generator": "normal", "mean": 10, "std": 2},
    {"type": "float", "generator": "lognormal", "mu": 0, "sigma": 0.8},
    {"type": "int", "generator": "poisson", "lam": 2},
    {"type": "float", "generator": "uniform", "min": 0, "max": 1},
    {"type": "float", "generator": "exponential", "scale": 3, "max": 10},
    {"type": "int", "generator": "normal", "mean": 40, "std": 12, "min": 18, "max": 90},
]
TARGET = np.array([
    [1.0, 0.7, 0.4, -0.3, 0.0, 0.5],
    [0.7, 1.0, 0.3, -0.2, 0.1, 0.4],
    [0.4, 0.3, 1.0, 0.0, 0.0, 0.2],
    [-0.3, -0.2, 0.0, 1.0, 0.3, -0.1],
    [0.0, 0.1, 0.0, 0.3, 1.0, 0.0],
    [0.5, 0.4, 0.2, -0.1, 0.0, 1.0],
])


def test_output_correlation_within_005_on_100k_rows(tmp_path: Path) -> None:
    names = [f"c{i}" for i in range(len(MARGINALS))]
    columns = [{"name": n, **m} for n, m in zip(names, MARGINALS, strict=True)]
    schema = one_table(columns, rows=100_000, correlations={"columns": names, "matrix": TARGET.tolist()})
    table = _table(tmp_path, schema)
    data = np.column_stack([table[n].to_numpy().astype(np.float64) for n in names])
    got = np.corrcoef(data, rowvar=False)
    assert np.abs(got - TARGET).max() <= 0.05, np.round(got - TARGET, 3)
    assert data[:, 4].max() <= 10 and data[:, 5].min() >= 18


def test_constraints_never_violated(tmp_path: Path) -> None:
    t = _table(tmp_path, wide(20_000), name="customers")
    signup, last = t["signup"].to_numpy(), t["last_seen"].to_numpy()
    assert (last > signup).all()
    income = t["income"].to_numpy()
    resid = t["spend"].to_numpy() - 0.1 * income
    assert abs(resid.mean()) < 2 and 45 < resid.std() < 55
    country = np.array(t["country"].to_pylist())
    city = np.array(t["city"].to_pylist())
    assert set(city[country == "DE"]) == {"Berlin"} and set(city[country == "FR"]) == {"Paris"}
    assert set(city[country == "US"]) == {"NYC", "LA"}
    age = t["age"].to_numpy()
    assert age.min() >= 18 and age.max() <= 90


def test_chained_order_range_and_float_gaps(tmp_path: Path) -> None:
    cols = [
        {"name": "a", "type": "float", "generator": "normal", "mean": 0, "std": 1e6},
        {"name": "b", "type": "float"},
        {"name": "c", "type": "float"},
        {"name": "start", "type": "timestamp", "generator": "uniform", "min": "2024-01-01T00:00:00",
         "max": "2024-12-31T00:00:00"},
        {"name": "end", "type": "timestamp"},
        {"name": "y", "type": "int"},
    ]
    rules = [
        {"type": "less_than", "left": "a", "right": "b", "gap": {"distribution": "exponential", "scale": 1e-9}},
        {"type": "less_than", "left": "b", "right": "c", "gap": {"distribution": "uniform", "min": 1, "max": 2}},
        {"type": "less_than", "left": "start", "right": "end"},
        {"type": "linear", "target": "y", "source": "a", "k": 0.001, "noise_std": 10},
        {"type": "range", "column": "y", "min": -500, "max": 500},
    ]
    t = _table(tmp_path, one_table(cols, rows=50_000, constraints=rules))
    a, b, c = (t[n].to_numpy() for n in "abc")
    assert (a < b).all() and (b < c).all()
    assert pc.all(pc.less(t["start"], t["end"])).as_py()
    y = t["y"].to_numpy()
    assert y.min() >= -500 and y.max() <= 500


def test_foreign_keys_resolve_and_children_follow_distribution(tmp_path: Path) -> None:
    schema = wide(30_000)
    schema["tables"].append({
        "name": "reviews", "rows": 5_000, "columns": [
            {"name": "order_ref", "generator": "foreign_key", "references": "orders.order_id"},
            {"name": "customer_ref", "generator": "foreign_key", "references": "customers.uid", "nullable": 0.1},
        ]})
    schema["tables"][1]["columns"][0]["unique"] = True
    files = {f.table: pq.read_table(f.path) for f in generate(schema, 9, tmp_path, "parquet")}
    customers, orders, reviews = files["customers"], files["orders"], files["reviews"]
    ids = set(customers["id"].to_pylist())
    fk = orders["customer_id"].to_numpy()
    assert set(fk) <= ids
    counts = np.bincount(fk - 1, minlength=len(ids))
    assert abs(counts.mean() - 3) < 0.05 and abs(counts.var() - 3) < 0.2
    assert (np.diff(fk) >= 0).all()  # children are grouped by parent
    assert set(reviews["order_ref"].to_pylist()) <= set(orders["order_id"].to_pylist())
    refs = [r for r in reviews["customer_ref"].to_pylist() if r is not None]
    assert set(refs) <= set(customers["uid"].to_pylist())


def test_uniqueness_across_blocks(tmp_path: Path) -> None:
    cols = [
        {"name": "n", "type": "int", "generator": "uniform", "min": 0, "max": 139_999, "unique": True},
        {"name": "p", "type": "string", "generator": "pattern", "pattern": r"[A-F]{2}\d{4}", "unique": True},
        {"name": "e", "type": "string", "generator": "email", "unique": True},
        {"name": "u", "type": "string", "generator": "uuid"},
        {"name": "d", "type": "date", "generator": "uniform", "min": "1700-01-01", "max": "2100-01-01",
         "unique": True},
    ]
    t = _table(tmp_path, one_table(cols, rows=140_000))
    for name in "npeud":
        assert pc.count_distinct(t[name]).as_py() == 140_000, name
    assert sorted(t["n"].to_pylist()) == list(range(140_000))
    assert pc.all(pc.match_substring_regex(t["p"], r"^[A-F]{2}\d{4}$")).as_py()
    assert pc.all(pc.match_substring_regex(
        t["u"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")).as_py()


@pytest.mark.parametrize("rate", [0.0, 0.05, 0.5, 1.0])
def test_null_rate_within_tolerance(tmp_path: Path, rate: float) -> None:
    cols = [{"name": "x", "type": "float", "generator": "normal", "mean": 0, "std": 1, "nullable": rate},
            {"name": "s", "type": "string", "generator": "city", "nullable": rate}]
    t = _table(tmp_path, one_table(cols, rows=40_000))
    for name in "xs":
        assert abs(t[name].null_count / 40_000 - rate) < 0.01


def test_category_weights_and_bernoulli(tmp_path: Path) -> None:
    cols = [{"name": "c", "type": "int", "generator": "category", "categories": [1, 2, 3], "weights": [0.2, 0.3, 0.5]},
            {"name": "b", "type": "bool", "generator": "bernoulli", "p": 0.25}]
    t = _table(tmp_path, one_table(cols, rows=50_000))
    freq = np.bincount(t["c"].to_numpy(), minlength=4)[1:] / 50_000
    assert np.abs(freq - [0.2, 0.3, 0.5]).max() < 0.01
    assert abs(t["b"].to_numpy().mean() - 0.25) < 0.01
