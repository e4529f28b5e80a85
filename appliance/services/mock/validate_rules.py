"""Validation of the rules inside one table: constraints, the correlation matrix, column order.

Rules name columns, so this is where unknown column references, impossible combinations (a
correlated column that is also derived) and cyclic dependencies are caught, each with the path of
the offending field.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from . import checks
from .distributions import PARAMS
from .errors import SchemaError
from .model import ColumnSpec, ConstraintSpec, CorrelationSpec
from .validate_columns import distribution_params

KEYS = {
    "less_than": ("type", "left", "right", "gap"),
    "linear": ("type", "target", "source", "k", "offset", "noise_std"),
    "range": ("type", "column", "min", "max"),
    "conditional": ("type", "column", "given", "weights"),
}
ORDERABLE = ("int", "float", "date", "timestamp")
DEFAULT_GAPS: dict[str, dict[str, Any]] = {
    "int": {"distribution": "uniform", "min": 1, "max": 10},
    "float": {"distribution": "exponential", "scale": 1.0},
    "date": {"distribution": "uniform", "min": 1, "max": 30},
    "timestamp": {"distribution": "uniform", "min": 60, "max": 86_400},
}
_NEEDS_POSITIVE_MIN = ("uniform", "normal", "poisson", "binomial")


def _col(d: dict[str, Any], key: str, path: str, cols: dict[str, ColumnSpec]) -> ColumnSpec:
    name = checks.required(d, key, path)
    if not isinstance(name, str) or name not in cols:
        raise SchemaError(f"{path}.{key}", f"unknown column {name!r}")
    return cols[name]


def _less_than(d: dict[str, Any], path: str, cols: dict[str, ColumnSpec]) -> dict[str, Any]:
    left, right = _col(d, "left", path, cols), _col(d, "right", path, cols)
    if left.name == right.name:
        raise SchemaError(f"{path}.right", "must differ from left")
    if left.type not in ORDERABLE or right.type != left.type:
        raise SchemaError(f"{path}.right", f"left and right must share one of the types {', '.join(ORDERABLE)}")
    gap = checks.obj(d.get("gap", DEFAULT_GAPS[left.type]), f"{path}.gap")
    dist = gap.get("distribution")
    if dist not in PARAMS:
        raise SchemaError(f"{path}.gap.distribution", f"unknown distribution {dist!r}; known: {', '.join(PARAMS)}")
    checks.only_keys(gap, ("distribution", *PARAMS[dist], "min", "max"), f"{path}.gap")
    integer = left.type != "float"
    params = distribution_params(gap, f"{path}.gap", dist, "int" if integer else "float")
    if dist in _NEEDS_POSITIVE_MIN and "min" not in params:
        raise SchemaError(f"{path}.gap.min", f"is required for a {dist} gap, and must be > 0")
    if "min" in params and params["min"] <= 0:
        raise SchemaError(f"{path}.gap.min", "must be > 0 so that left < right holds")
    return {"left": left.name, "right": right.name, "gap": {"distribution": dist, **params}, "integer": integer}


def _linear(d: dict[str, Any], path: str, cols: dict[str, ColumnSpec]) -> dict[str, Any]:
    target, source = _col(d, "target", path, cols), _col(d, "source", path, cols)
    if target.name == source.name:
        raise SchemaError(f"{path}.source", "must differ from target")
    for key, col in (("target", target), ("source", source)):
        if col.type not in ("int", "float"):
            raise SchemaError(f"{path}.{key}", f"column {col.name!r} must be int or float")
    noise = checks.number(d.get("noise_std", 0.0), f"{path}.noise_std")
    if noise < 0:
        raise SchemaError(f"{path}.noise_std", "must be >= 0")
    k = checks.number(checks.required(d, "k", path), f"{path}.k")
    offset = checks.number(d.get("offset", 0.0), f"{path}.offset")
    return {"target": target.name, "source": source.name, "k": k, "offset": offset, "noise_std": noise}


def _range(d: dict[str, Any], path: str, cols: dict[str, ColumnSpec]) -> dict[str, Any]:
    col = _col(d, "column", path, cols)
    if col.type not in (*ORDERABLE, "time"):
        raise SchemaError(f"{path}.column", f"a range needs a numeric or temporal column, {col.name!r} is {col.type}")
    out: dict[str, Any] = {"column": col.name}
    for key in ("min", "max"):
        if d.get(key) is not None:
            value = d[key]
            p = f"{path}.{key}"
            out[key] = checks.number(value, p) if col.type in ("int", "float") else checks.temporal(value, col.type, p)
    if "min" not in out and "max" not in out:
        raise SchemaError(f"{path}.min", "a range needs min, max or both")
    if "min" in out and "max" in out and out["min"] > out["max"]:
        raise SchemaError(f"{path}.min", "min must not exceed max")
    return out


def _key(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _conditional(d: dict[str, Any], path: str, cols: dict[str, ColumnSpec]) -> dict[str, Any]:
    col, given = _col(d, "column", path, cols), _col(d, "given", path, cols)
    if col.name == given.name:
        raise SchemaError(f"{path}.given", "must differ from column")
    for key, c in (("column", col), ("given", given)):
        if c.generator != "category" or c.unique:
            raise SchemaError(f"{path}.{key}", f"column {c.name!r} must use the (non-unique) category generator")
    cats = col.params["categories"]
    index = {_key(v): i for i, v in enumerate(cats)}
    given_index = {_key(v): i for i, v in enumerate(given.params["categories"])}
    table: dict[int, list[float]] = {}
    for cond, weights in checks.obj(checks.required(d, "weights", path), f"{path}.weights").items():
        w_path = f"{path}.weights.{cond}"
        if cond not in given_index:
            raise SchemaError(w_path, f"{cond!r} is not a category of {given.name!r}")
        if isinstance(weights, dict):
            row = [0.0] * len(cats)
            for cat, w in weights.items():
                if cat not in index:
                    raise SchemaError(f"{w_path}.{cat}", f"{cat!r} is not a category of {col.name!r}")
                row[index[cat]] = checks.number(w, f"{w_path}.{cat}")
        else:
            items = checks.array(weights, w_path)
            if len(items) != len(cats):
                raise SchemaError(w_path, f"has {len(items)} weights for {len(cats)} categories")
            row = [checks.number(w, f"{w_path}[{i}]") for i, w in enumerate(items)]
        if any(w < 0 for w in row) or sum(row) <= 0:
            raise SchemaError(w_path, "weights must be >= 0 and not all zero")
        table[given_index[cond]] = [w / sum(row) for w in row]
    return {"column": col.name, "given": given.name, "table": table}


_READERS = {"less_than": _less_than, "linear": _linear, "range": _range, "conditional": _conditional}


def constraints(raw: Any, path: str, cols: dict[str, ColumnSpec]) -> tuple[ConstraintSpec, ...]:
    out: list[ConstraintSpec] = []
    derived_by: dict[str, str] = {}
    conditioned: set[str] = set()
    for i, item in enumerate(checks.array(raw if raw is not None else [], path, 0, 1000)):
        c_path = f"{path}[{i}]"
        d = checks.obj(item, c_path)
        kind = d.get("type")
        if kind not in _READERS:
            raise SchemaError(f"{c_path}.type", f"unknown constraint type {kind!r}; known: {', '.join(_READERS)}")
        checks.only_keys(d, KEYS[kind], c_path)
        params = _READERS[kind](d, c_path, cols)
        target = params.get("right") or params.get("target")
        if target is not None:
            if target in derived_by:
                raise SchemaError(c_path, f"column {target!r} is already derived by {derived_by[target]}")
            if cols[target].generator != "derived":
                raise SchemaError(f"{cols[target].path}.generator",
                                  f"column is derived by {c_path}; remove its generator")
            derived_by[target] = c_path
        if kind == "conditional":
            if params["column"] in conditioned:
                raise SchemaError(c_path, f"column {params['column']!r} already has a conditional constraint")
            conditioned.add(params["column"])
        out.append(ConstraintSpec(kind, params, c_path))
    for c in out:
        if c.kind == "range" and any(o.kind == "less_than" and o.params["right"] == c.params["column"] for o in out):
            raise SchemaError(f"{c.path}.column", "a range on the right side of less_than could break the order; "
                                                  "bound the gap instead")
    for col in cols.values():
        if col.generator == "derived" and col.name not in derived_by:
            raise SchemaError(f"{col.path}.generator", "is required (or derive this column with less_than/linear)")
    return tuple(out)


def correlation(raw: Any, path: str, cols: dict[str, ColumnSpec]) -> CorrelationSpec | None:
    if raw is None:
        return None
    d = checks.obj(raw, path)
    checks.only_keys(d, ("columns", "matrix"), path)
    names = checks.array(checks.required(d, "columns", path), f"{path}.columns", 2, 100)
    for i, name in enumerate(names):
        c_path = f"{path}.columns[{i}]"
        if not isinstance(name, str) or name not in cols:
            raise SchemaError(c_path, f"unknown column {name!r}")
        col = cols[name]
        if col.type not in ("int", "float") or col.generator not in PARAMS or col.unique:
            raise SchemaError(c_path, f"column {name!r} must be a non-unique int/float column drawn from a "
                                      f"distribution ({', '.join(PARAMS)})")
    if len(set(names)) != len(names):
        raise SchemaError(f"{path}.columns", "columns must be distinct")
    rows = checks.array(checks.required(d, "matrix", path), f"{path}.matrix", len(names), len(names))
    matrix = np.empty((len(names), len(names)))
    for i, row in enumerate(rows):
        r = checks.array(row, f"{path}.matrix[{i}]", len(names), len(names))
        matrix[i] = [checks.number(v, f"{path}.matrix[{i}][{j}]") for j, v in enumerate(r)]
    if not np.allclose(matrix, matrix.T, atol=1e-9):
        raise SchemaError(f"{path}.matrix", "must be symmetric")
    if not np.allclose(np.diag(matrix), 1.0, atol=1e-9):
        raise SchemaError(f"{path}.matrix", "must have 1 on the diagonal")
    if np.abs(matrix).max() > 1.0:
        raise SchemaError(f"{path}.matrix", "entries must lie in [-1, 1]")
    smallest = float(np.linalg.eigvalsh(matrix).min())
    if smallest <= 1e-10:
        raise SchemaError(f"{path}.matrix", f"is not positive definite (smallest eigenvalue {smallest:.3g}): "
                                            "these correlations cannot hold together")
    return CorrelationSpec(tuple(names), tuple(tuple(float(v) for v in r) for r in matrix), path)


def column_order(columns: tuple[ColumnSpec, ...], rules: tuple[ConstraintSpec, ...], path: str) -> tuple[str, ...]:
    """Columns in an order where every column comes after the ones it depends on."""
    deps: dict[str, list[str]] = {c.name: [] for c in columns}
    for rule in rules:
        p = rule.params
        if rule.kind == "less_than":
            deps[p["right"]].append(p["left"])
        elif rule.kind == "linear":
            deps[p["target"]].append(p["source"])
        elif rule.kind == "conditional":
            deps[p["column"]].append(p["given"])
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*trail[trail.index(name):], name]
            raise SchemaError(path, f"cyclic dependency between columns: {' -> '.join(cycle)}")
        state[name] = 1
        for dep in deps[name]:
            visit(dep, [*trail, name])
        state[name] = 2
        order.append(name)

    for col in columns:
        visit(col.name, [])
    return tuple(order)
