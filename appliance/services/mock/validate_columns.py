"""Validation of one column: its type, its generator and that generator's parameters.

Each generator declares which types it serves and which keys it reads; anything else in the
column object is an error, so a typo such as ``"wieghts"`` is caught instead of ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import bounds, checks, patterns, text
from .distributions import DISCRETE, PARAMS, POSITIVE_PARAMS, Marginal
from .errors import SchemaError
from .model import NUMERIC_TYPES, TEMPORAL_TYPES, TYPES, ColumnSpec

COMMON_KEYS = ("name", "type", "generator", "nullable", "unique")
MAX_CATEGORIES = 10_000
_INT_LIMIT = 2**53

ParamFn = Callable[[dict[str, Any], str, str, str], dict[str, Any]]


def _bounds(d: dict[str, Any], path: str, ctype: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("min", "max"):
        if d.get(key) is not None:
            if ctype == "int":
                out[key] = checks.integer(d[key], f"{path}.{key}", -_INT_LIMIT, _INT_LIMIT)
            else:
                out[key] = checks.number(d[key], f"{path}.{key}")
    if "min" in out and "max" in out and out["min"] > out["max"]:
        raise SchemaError(f"{path}.min", f"min ({out['min']}) must not exceed max ({out['max']})")
    return out


def distribution_params(d: dict[str, Any], path: str, dist: str, ctype: str) -> dict[str, Any]:
    """Parameters of a numeric distribution, shared by columns, gaps, noise and child counts."""
    if dist in DISCRETE and ctype not in ("int", "float"):
        raise SchemaError(path, f"distribution {dist!r} needs an int or float column")
    out = _bounds(d, path, ctype)
    if dist == "uniform":
        for key in ("min", "max"):
            if key not in out:
                raise SchemaError(f"{path}.{key}", "is required")
        return out
    for key in PARAMS[dist]:
        value = checks.number(checks.required(d, key, path), f"{path}.{key}")
        if key in POSITIVE_PARAMS and value <= 0:
            raise SchemaError(f"{path}.{key}", f"must be > 0, got {value:g}")
        out[key] = value
    if dist == "binomial":
        out["n"] = checks.integer(out["n"], f"{path}.n", 0, 10**9)
    if "p" in out and not 0.0 <= out["p"] <= 1.0:
        raise SchemaError(f"{path}.p", f"must be between 0 and 1, got {out['p']:g}")
    if dist == "geometric" and out["p"] == 0.0:
        raise SchemaError(f"{path}.p", "must be > 0 for a geometric distribution")
    if dist == "poisson" and out["lam"] > 1e9:
        raise SchemaError(f"{path}.lam", "must be <= 1e9")
    marginal = Marginal(dist, out, ctype == "int")
    bounds.check_marginal(marginal, path, f"column {d['name']!r}" if isinstance(d.get("name"), str) else path)
    if ("min" in out or "max" in out) and marginal.mass < 1e-12:
        raise SchemaError(f"{path}.min", "the range [min, max] has (almost) no probability under this distribution")
    return out


def _numeric(d: dict[str, Any], path: str, ctype: str, gen: str) -> dict[str, Any]:
    if ctype in TEMPORAL_TYPES and gen == "uniform":
        out = {k: checks.temporal(checks.required(d, k, path), ctype, f"{path}.{k}") for k in ("min", "max")}
        if out["min"] > out["max"]:
            raise SchemaError(f"{path}.min", "min must not be later than max")
        return out
    if ctype not in NUMERIC_TYPES:
        raise SchemaError(f"{path}.generator", f"generator {gen!r} does not produce {ctype} values")
    out = distribution_params(d, path, gen, ctype)
    if d.get("decimals") is not None:
        if ctype != "float":
            raise SchemaError(f"{path}.decimals", "only float columns can be rounded to decimals")
        out["decimals"] = checks.integer(d["decimals"], f"{path}.decimals", 0, 12)
    return out


def _sequence(d: dict[str, Any], path: str, ctype: str, gen: str) -> dict[str, Any]:
    if ctype in TEMPORAL_TYPES - {"time"}:
        start = checks.temporal(checks.required(d, "start", path), ctype, f"{path}.start")
        return {"start": start, "step": checks.step(d.get("step", 1), ctype, f"{path}.step")}
    start = checks.integer(d.get("start", 1), f"{path}.start", -_INT_LIMIT, _INT_LIMIT)
    return {"start": start, "step": checks.step(d.get("step", 1), ctype, f"{path}.step")}


def _typed_value(value: Any, ctype: str, path: str) -> Any:
    if ctype == "int":
        return checks.integer(value, path, -(2**63), 2**63 - 1)
    if ctype == "float":
        return checks.number(value, path)
    if ctype == "bool":
        return checks.boolean(value, path)
    if ctype == "string":
        if not isinstance(value, str):
            raise SchemaError(path, f"must be a string, got {value!r}")
        return value
    return checks.temporal(value, ctype, path)


def _category(d: dict[str, Any], path: str, ctype: str, gen: str) -> dict[str, Any]:
    cats_path = f"{path}.categories"
    raw = checks.array(checks.required(d, "categories", path), cats_path, 1, MAX_CATEGORIES)
    cats = [_typed_value(v, ctype, f"{cats_path}[{i}]") for i, v in enumerate(raw)]
    if len(set(cats)) != len(cats):
        raise SchemaError(cats_path, "categories must be distinct")
    out: dict[str, Any] = {"categories": cats}
    if d.get("weights") is not None:
        w_path = f"{path}.weights"
        weights = checks.array(d["weights"], w_path)
        if len(weights) != len(cats):
            raise SchemaError(w_path, f"has {len(weights)} weights for {len(cats)} categories")
        values = [checks.number(w, f"{w_path}[{i}]") for i, w in enumerate(weights)]
        if any(w < 0 for w in values):
            raise SchemaError(w_path, "weights must not be negative")
        total = sum(values)
        if total <= 0:
            raise SchemaError(w_path, "weights must not all be zero")
        out["weights"] = [w / total for w in values]
    return out


def _bernoulli(d: dict[str, Any], path: str, ctype: str, gen: str) -> dict[str, Any]:
    return {"p": checks.probability(d.get("p", 0.5), f"{path}.p")}


def _pattern(d: dict[str, Any], path: str, ctype: str, gen: str) -> dict[str, Any]:
    default = text.DEFAULT_PHONE if gen == "phone" else None
    raw = d.get("pattern", default)
    source = checks.text(checks.required({"pattern": raw}, "pattern", path), f"{path}.pattern", 500)
    try:
        atoms = patterns.parse(source)
    except patterns.PatternError as exc:
        raise SchemaError(f"{path}.pattern", str(exc)) from exc
    return {"pattern": source, "atoms": atoms}


def _words(d: dict[str, Any], path: str, ctype: str, gen: str) -> dict[str, Any]:
    lo = checks.integer(d.get("min", 1), f"{path}.min", 1, 20)
    hi = checks.integer(d.get("max", 3), f"{path}.max", 1, 20)
    if lo > hi:
        raise SchemaError(f"{path}.min", f"min ({lo}) must not exceed max ({hi})")
    return {"min": lo, "max": hi}


def _constant(d: dict[str, Any], path: str, ctype: str, gen: str) -> dict[str, Any]:
    return {"value": _typed_value(checks.required(d, "value", path), ctype, f"{path}.value")}


def _foreign_key(d: dict[str, Any], path: str, ctype: str, gen: str) -> dict[str, Any]:
    ref = checks.text(checks.required(d, "references", path), f"{path}.references")
    table, _, column = ref.partition(".")
    if not table or not column:
        raise SchemaError(f"{path}.references", "must look like 'table.column'")
    return {"table": table, "column": column}


def _none(d: dict[str, Any], path: str, ctype: str, gen: str) -> dict[str, Any]:
    return {}


_STRING = frozenset({"string"})
_DIST_TYPES = NUMERIC_TYPES | TEMPORAL_TYPES
GENERATORS: dict[str, tuple[frozenset[str], tuple[str, ...], ParamFn]] = {
    "uniform": (_DIST_TYPES, ("min", "max", "decimals"), _numeric),
    **{name: (NUMERIC_TYPES, (*PARAMS[name], "min", "max", "decimals"), _numeric)
       for name in PARAMS if name != "uniform"},
    "sequence": (frozenset({"int", "date", "timestamp"}), ("start", "step"), _sequence),
    "category": (frozenset({"int", "float", "string", "bool", *TEMPORAL_TYPES}), ("categories", "weights"), _category),
    "bernoulli": (frozenset({"bool"}), ("p",), _bernoulli),
    "uuid": (_STRING, (), _none),
    "pattern": (_STRING, ("pattern",), _pattern),
    "phone": (_STRING, ("pattern",), _pattern),
    "email": (_STRING, (), _none),
    "words": (_STRING, ("min", "max"), _words),
    **{name: (_STRING, (), _none) for name in text.SIMPLE},
    "constant": (frozenset(TYPES), ("value",), _constant),
    "foreign_key": (frozenset({"int", "string"}), ("references",), _foreign_key),
    "derived": (frozenset({"int", "float", "date", "timestamp"}), (), _none),
}
"""generator -> (types it can produce, extra keys it reads, parameter reader)."""


def column(raw: Any, path: str, rows: int | None) -> ColumnSpec:
    """Validate one column object; ``rows`` (when known) lets us check ``unique`` is possible."""
    d = checks.obj(raw, path)
    name = checks.text(checks.required(d, "name", path), f"{path}.name", 128)
    if any(ord(c) < 32 for c in name):
        raise SchemaError(f"{path}.name", "must not contain control characters")
    gen = d.get("generator", "derived")
    if not isinstance(gen, str) or gen not in GENERATORS:
        raise SchemaError(f"{path}.generator", f"unknown generator {gen!r}; known: {', '.join(sorted(GENERATORS))}")
    types, keys, reader = GENERATORS[gen]
    if gen == "foreign_key" and d.get("type") is None:
        ctype = ""
    else:
        ctype = checks.required(d, "type", path)
        if ctype not in TYPES:
            raise SchemaError(f"{path}.type", f"unknown type {ctype!r}; known: {', '.join(TYPES)}")
        if ctype not in types:
            raise SchemaError(f"{path}.generator", f"generator {gen!r} does not produce {ctype} values")
    checks.only_keys(d, (*COMMON_KEYS, *keys), path)
    params = reader(d, path, ctype, gen)
    nullable = checks.probability(d.get("nullable", 0.0), f"{path}.nullable")
    unique = checks.boolean(d.get("unique", False), f"{path}.unique")
    spec = ColumnSpec(name, ctype, gen, params, nullable, unique, path)
    if unique and rows is not None:
        check_unique(spec, rows)
    if gen == "sequence" and rows is not None:
        bounds.check_sequence(spec, rows)
    return spec


def unique_capacity(col: ColumnSpec) -> int | None:
    """How many distinct values a unique column can take (None: more than any row count)."""
    gen, p = col.generator, col.params
    if gen in ("sequence", "uuid", "email"):
        return None
    if gen == "uniform" and col.type in ("int", *TEMPORAL_TYPES):
        return int(p["max"] - p["min"] + 1)
    if gen == "category":
        if "weights" in p:
            raise SchemaError(f"{col.path}.weights", "weights cannot be combined with unique")
        return len(p["categories"])
    if gen == "pattern":
        if not patterns.is_fixed(p["atoms"]):
            raise SchemaError(f"{col.path}.pattern", "unique patterns need fixed-length quantifiers ({n})")
        return patterns.space_size(p["atoms"])
    raise SchemaError(f"{col.path}.unique", f"unique is not supported for generator {gen!r} on a {col.type} column")


def check_unique(col: ColumnSpec, rows: int) -> None:
    capacity = unique_capacity(col)
    if capacity is not None and rows > capacity:
        raise SchemaError(f"{col.path}.unique",
                          f"cannot draw {rows} unique values: only {capacity} distinct values exist")


def is_random_access(col: ColumnSpec) -> bool:
    """Whether any row's value can be computed from its index alone (a foreign key target)."""
    if col.generator in ("sequence", "uuid"):
        return True
    return col.unique and col.generator in ("uniform", "pattern", "category")
