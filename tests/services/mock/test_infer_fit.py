"""Schema inference from real data, and fit statistics / their comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from appliance.services.mock import compare_fits, fit_stats, infer_schema, preview, validate_schema

from .helpers import wide


def _frame(n: int = 3_000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(50, 10, n)
    return pd.DataFrame({
        "order_id": np.arange(1, n + 1),
        "email": [f"user{i}@example.com" for i in range(n)],
        "uuid": [f"{i:08x}-aaaa-4bbb-8ccc-{i:012x}" for i in range(n)],
        "price": np.round(rng.lognormal(3, 1, n), 2),
        "x": x,
        "y": 2 * x + rng.normal(0, 5, n),
        "status": rng.choice(["new", "paid", "shipped"], n, p=[0.2, 0.3, 0.5]),
        "created": [f"2024-01-{1 + i % 28:02d}T10:{i % 60:02d}:00" for i in range(n)],
        "code": [f"AB-{i:05d}" for i in range(n)],
        "flag": rng.random(n) < 0.3,
        "maybe": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
    })


def test_infer_schema_detects_types_semantics_and_correlation() -> None:
    schema = infer_schema(_frame(), name="orders")
    validate_schema(schema)
    table = schema["tables"][0]
    cols = {c["name"]: c for c in table["columns"]}
    assert table["rows"] == 3_000
    assert cols["order_id"]["generator"] == "sequence" and cols["order_id"]["start"] == 1
    assert cols["email"]["generator"] == "email"
    assert cols["uuid"]["generator"] == "uuid"
    assert cols["price"]["generator"] == "lognormal" and cols["price"]["decimals"] == 2
    assert cols["status"]["generator"] == "category"
    assert dict(zip(cols["status"]["categories"], cols["status"]["weights"], strict=True))["shipped"] > 0.45
    assert cols["created"]["type"] == "timestamp"
    assert cols["code"]["generator"] == "pattern" and cols["code"]["unique"] is True
    assert cols["flag"]["type"] == "bool" and abs(cols["flag"]["p"] - 0.3) < 0.03
    assert abs(cols["maybe"]["nullable"] - 0.2) < 0.03
    corr = table["correlations"]
    i, j = corr["columns"].index("x"), corr["columns"].index("y")
    assert corr["matrix"][i][j] > 0.9


def test_inferred_schema_reproduces_the_data() -> None:
    frame = _frame()
    synthetic = pd.DataFrame(preview(infer_schema(frame), 1_000, seed=3)["data"])
    report = compare_fits(fit_stats(frame), fit_stats(synthetic))
    for name in ("price", "x", "y"):
        assert report["columns"][name]["ks"] < 0.1, (name, report["columns"][name])
    assert report["columns"]["status"]["tvd"] < 0.06
    assert report["correlation"]["max_abs_diff"] < 0.1


def test_fit_stats_and_identity_comparison() -> None:
    rows = preview(wide(500), 500, seed=1)["customers"]
    table = pa.Table.from_pylist(rows)
    fit = fit_stats(table)
    assert fit["rows"] == 500
    age = fit["columns"]["age"]
    assert age["kind"] == "numeric" and len(age["quantiles"]) == 101 and 18 <= age["min"] <= age["max"] <= 90
    assert fit["columns"]["country"]["kind"] == "categorical"
    assert abs(sum(fit["columns"]["country"]["frequencies"].values()) - 1) < 1e-9
    same = compare_fits(fit, fit)
    assert all((c.get("ks") or 0) == 0 and (c.get("tvd") or 0) == 0 for c in same["columns"].values())
    assert same["correlation"]["max_abs_diff"] == 0


def test_compare_fits_flags_a_shift() -> None:
    rng = np.random.default_rng(1)
    a = fit_stats(pd.DataFrame({"v": rng.normal(0, 1, 5_000), "c": rng.choice(["a", "b"], 5_000)}))
    b = fit_stats(pd.DataFrame({"v": rng.normal(1, 1, 5_000), "c": ["a"] * 5_000, "new": 1}))
    report = compare_fits(a, b)
    assert 0.3 < report["columns"]["v"]["ks"] < 0.45
    assert abs(report["columns"]["c"]["tvd"] - 0.5) < 0.03
    assert report["extra_in_b"] == ["new"] and report["summary"]["worst_column"] == "c"
