"""``validate_schema``: the one gate every mock schema passes before any row is generated.

It checks the whole document (tables, columns, rules, foreign keys) and returns a
``NormalizedSchema`` the engine can trust. Every problem is a ``SchemaError`` whose
``field_path`` points at the field to fix, e.g. ``tables[0].columns[3].weights``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from . import checks, validate_rules
from .distributions import PARAMS
from .errors import SchemaError
from .model import ChildrenSpec, ColumnSpec, NormalizedSchema, TableSpec
from .validate_columns import column, distribution_params, is_random_access

TABLE_KEYS = ("name", "rows", "rows_per_parent", "columns", "constraints", "correlations")
MAX_ROWS = 10_000_000_000
MAX_COLUMNS = 1_000


def _children(raw: Any, path: str, cols: dict[str, ColumnSpec]) -> ChildrenSpec:
    d = checks.obj(raw, path)
    parent = checks.identifier(checks.required(d, "parent", path), f"{path}.parent")
    dist = d.get("distribution")
    if dist not in PARAMS:
        raise SchemaError(f"{path}.distribution", f"unknown distribution {dist!r}; known: {', '.join(PARAMS)}")
    checks.only_keys(d, ("parent", "column", "distribution", *PARAMS[dist], "min", "max"), path)
    params = distribution_params(d, path, dist, "int")
    if params.get("min", 0) < 0:
        raise SchemaError(f"{path}.min", "a child count cannot be negative")
    params.setdefault("min", 0)
    fks = [c for c in cols.values() if c.generator == "foreign_key" and c.params["table"] == parent]
    if d.get("column") is not None:
        name = checks.text(d["column"], f"{path}.column")
        fks = [c for c in fks if c.name == name]
        if not fks:
            raise SchemaError(f"{path}.column", f"no foreign_key column {name!r} references {parent!r}")
    if not fks:
        raise SchemaError(path, f"no foreign_key column references {parent!r}")
    if len(fks) > 1:
        raise SchemaError(f"{path}.column", f"{len(fks)} foreign_key columns reference {parent!r}; name one")
    return ChildrenSpec(parent, fks[0].name, {"distribution": dist, **params}, path)


def _table(raw: Any, path: str) -> TableSpec:
    d = checks.obj(raw, path)
    checks.only_keys(d, TABLE_KEYS, path)
    name = checks.identifier(checks.required(d, "name", path), f"{path}.name")
    rows: int | None = None
    if ("rows" in d) == ("rows_per_parent" in d):
        raise SchemaError(f"{path}.rows", "give either rows or rows_per_parent (exactly one)")
    if "rows" in d:
        rows = checks.integer(d["rows"], f"{path}.rows", 0, MAX_ROWS)
    raw_cols = checks.array(checks.required(d, "columns", path), f"{path}.columns", 1, MAX_COLUMNS)
    cols: dict[str, ColumnSpec] = {}
    for ci, raw_col in enumerate(raw_cols):
        spec = column(raw_col, f"{path}.columns[{ci}]", rows)
        if spec.name in cols:
            raise SchemaError(f"{path}.columns[{ci}].name", f"duplicate column name {spec.name!r}")
        cols[spec.name] = spec
    rules = validate_rules.constraints(d.get("constraints"), f"{path}.constraints", cols)
    corr = validate_rules.correlation(d.get("correlations"), f"{path}.correlations", cols)
    children = _children(d["rows_per_parent"], f"{path}.rows_per_parent", cols) if rows is None else None
    order = validate_rules.column_order(tuple(cols.values()), rules, f"{path}.constraints")
    return TableSpec(name, rows, tuple(cols.values()), rules, corr, children, path, order)


def _resolve_keys(tables: dict[str, TableSpec]) -> dict[str, TableSpec]:
    """Check each foreign key's target and give the key column the target's type."""
    out: dict[str, TableSpec] = {}
    for table in tables.values():
        cols: list[ColumnSpec] = []
        for col in table.columns:
            if col.generator == "foreign_key":
                ref_path = f"{col.path}.references"
                target_table = tables.get(col.params["table"])
                if target_table is None:
                    raise SchemaError(ref_path, f"unknown table {col.params['table']!r}")
                if target_table.name == table.name:
                    raise SchemaError(ref_path, "a table cannot reference itself (cyclic dependency)")
                try:
                    target = target_table.column(col.params["column"])
                except KeyError:
                    raise SchemaError(ref_path, f"unknown column {col.params['column']!r} "
                                                f"in table {target_table.name!r}") from None
                if not is_random_access(target) or target.type not in ("int", "string") or target.nullable:
                    raise SchemaError(ref_path, "must reference a unique, non-nullable int or string column "
                                                "(generator sequence, uuid, uniform, pattern or category)")
                if col.type and col.type != target.type:
                    raise SchemaError(f"{col.path}.type", f"must match the referenced column's type {target.type!r}")
                if col.unique:
                    raise SchemaError(f"{col.path}.unique", "unique foreign keys are not supported")
                if target_table.rows == 0 and table.children is None:
                    raise SchemaError(ref_path, f"table {target_table.name!r} has no rows to reference")
                col = dataclasses.replace(col, type=target.type)
            cols.append(col)
        out[table.name] = dataclasses.replace(table, columns=tuple(cols))
    return out


def _parents_first(tables: dict[str, TableSpec]) -> list[TableSpec]:
    deps = {t.name: {c.params["table"] for c in t.columns if c.generator == "foreign_key"} for t in tables.values()}
    order: list[TableSpec] = []
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join([*trail[trail.index(name):], name])
            raise SchemaError(f"{tables[name].path}.columns", f"cyclic foreign keys between tables: {cycle}")
        state[name] = 1
        for dep in sorted(deps[name]):
            visit(dep, [*trail, name])
        state[name] = 2
        order.append(tables[name])

    for name in tables:
        visit(name, [])
    return order


def validate_schema(schema: Any) -> NormalizedSchema:
    """Validate a schema dict (as parsed from JSON) and return its normalised form.

    Raises ``SchemaError(field_path, message)`` for the first problem found.
    """
    if isinstance(schema, NormalizedSchema):
        return schema
    d = checks.obj(schema, "schema")
    checks.only_keys(d, ("tables",), "")
    raw_tables = checks.array(checks.required(d, "tables", ""), "tables", 1, 100)
    tables: dict[str, TableSpec] = {}
    for ti, raw in enumerate(raw_tables):
        table = _table(raw, f"tables[{ti}]")
        if table.name in tables:
            raise SchemaError(f"tables[{ti}].name", f"duplicate table name {table.name!r}")
        tables[table.name] = table
    for table in tables.values():
        if table.children is not None and table.children.parent not in tables:
            raise SchemaError(f"{table.children.path}.parent", f"unknown table {table.children.parent!r}")
    resolved = _resolve_keys(tables)
    return NormalizedSchema(tuple(_parents_first(resolved)), source=schema)
