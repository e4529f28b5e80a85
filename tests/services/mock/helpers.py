"""Schemas shared by the mock-engine tests."""

from __future__ import annotations

import copy
from typing import Any

WIDE: dict[str, Any] = {
    "tables": [
        {
            "name": "customers",
            "rows": 300,
            "columns": [
                {"name": "id", "type": "int", "generator": "sequence", "unique": True},
                {"name": "uid", "type": "string", "generator": "uuid", "unique": True},
                {"name": "name", "type": "string", "generator": "name"},
                {"name": "email", "type": "string", "generator": "email", "unique": True, "nullable": 0.1},
                {"name": "age", "type": "int", "generator": "normal", "mean": 40, "std": 12, "min": 18, "max": 90},
                {"name": "income", "type": "float", "generator": "lognormal", "mu": 10, "sigma": 0.5, "decimals": 2},
                {"name": "country", "type": "string", "generator": "category",
                 "categories": ["DE", "FR", "US"], "weights": [1, 1, 2]},
                {"name": "city", "type": "string", "generator": "category",
                 "categories": ["Berlin", "Paris", "NYC", "LA"]},
                {"name": "signup", "type": "date", "generator": "uniform", "min": "2020-01-01", "max": "2024-12-31"},
                {"name": "last_seen", "type": "date"},
                {"name": "ts", "type": "timestamp", "generator": "sequence", "start": "2024-01-01T00:00:00",
                 "step": "15m"},
                {"name": "t", "type": "time", "generator": "uniform", "min": "08:00", "max": "17:00"},
                {"name": "sku", "type": "string", "generator": "pattern", "pattern": r"[A-Z]{3}-\d{4}",
                 "unique": True},
                {"name": "note", "type": "string", "generator": "category",
                 "categories": ['say "hi"', "a,b", "back\\slash", "line\nbreak", "ünï"], "nullable": 0.2},
                {"name": "phone", "type": "string", "generator": "phone"},
                {"name": "active", "type": "bool", "generator": "bernoulli", "p": 0.8, "nullable": 0.05},
                {"name": "spend", "type": "float"},
            ],
            "constraints": [
                {"type": "less_than", "left": "signup", "right": "last_seen"},
                {"type": "linear", "target": "spend", "source": "income", "k": 0.1, "noise_std": 50},
                {"type": "conditional", "column": "city", "given": "country",
                 "weights": {"DE": {"Berlin": 1}, "FR": {"Paris": 1}, "US": [0, 0, 1, 1]}},
            ],
            "correlations": {"columns": ["age", "income"], "matrix": [[1, 0.6], [0.6, 1]]},
        },
        {
            "name": "orders",
            "rows_per_parent": {"parent": "customers", "distribution": "poisson", "lam": 3},
            "columns": [
                {"name": "order_id", "type": "string", "generator": "uuid"},
                {"name": "customer_id", "generator": "foreign_key", "references": "customers.id"},
                {"name": "amount", "type": "float", "generator": "gamma", "shape": 2, "scale": 30, "decimals": 2},
            ],
        },
    ]
}


def wide(rows: int = 300) -> dict[str, Any]:
    schema = copy.deepcopy(WIDE)
    schema["tables"][0]["rows"] = rows
    return schema


def one_table(columns: list[dict[str, Any]], rows: int = 100, **extra: Any) -> dict[str, Any]:
    return {"tables": [{"name": "t", "rows": rows, "columns": columns, **extra}]}
