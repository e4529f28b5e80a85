"""The validator: every bad input gets a SchemaError naming the field and the problem."""

from __future__ import annotations

from typing import Any

import pytest

from appliance.services.mock import NormalizedSchema, SchemaError, validate_schema

from .helpers import one_table, wide

INT = {"name": "x", "type": "int", "generator": "uniform", "min": 0, "max": 10}
FLT = {"name": "y", "type": "float", "generator": "normal", "mean": 0, "std": 1}
CAT = {"name": "c", "type": "string", "generator": "category", "categories": ["a", "b"]}


def col(**kw: Any) -> dict[str, Any]:
    return {"name": "x", "type": "int", "generator": "uniform", "min": 0, "max": 10, **kw}


CASES: list[tuple[str, Any, str, str]] = [
    ("not an object", [], "schema", "must be an object"),
    ("unknown top key", {"tables": [], "extra": 1}, "extra", "unknown key"),
    ("no tables", {}, "tables", "is required"),
    ("empty tables", {"tables": []}, "tables", "at least 1"),
    ("bad table name", {"tables": [{"name": "a b", "rows": 1, "columns": [INT]}]}, "tables[0].name", "letters"),
    ("negative rows", one_table([INT], rows=-1), "tables[0].rows", "must be >= 0"),
    ("fractional rows", one_table([INT], rows=1.5), "tables[0].rows", "must be an integer"),
    ("rows and per parent", {"tables": [{"name": "t", "columns": [INT]}]}, "tables[0].rows", "exactly one"),
    ("no columns", one_table([]), "tables[0].columns", "at least 1"),
    ("unknown type", one_table([col(type="decimal")]), "tables[0].columns[0].type", "unknown type"),
    ("unknown generator", one_table([col(generator="magic")]), "tables[0].columns[0].generator",
     "unknown generator"),
    ("generator/type mismatch", one_table([col(generator="email")]), "tables[0].columns[0].generator",
     "does not produce int"),
    ("typo key", one_table([col(mni=1)]), "tables[0].columns[0].mni", "unknown key"),
    ("min > max", one_table([col(min=5, max=1)]), "tables[0].columns[0].min", "must not exceed max"),
    ("missing param", one_table([{"name": "x", "type": "float", "generator": "normal", "mean": 0}]),
     "tables[0].columns[0].std", "is required"),
    ("negative std", one_table([{**FLT, "std": -1}]), "tables[0].columns[0].std", "must be > 0"),
    ("empty truncation", one_table([{**FLT, "min": 50, "max": 60}]), "tables[0].columns[0].min",
     "no probability"),
    ("weights length", one_table([{**CAT, "weights": [1]}]), "tables[0].columns[0].weights",
     "1 weights for 2 categories"),
    ("negative weight", one_table([{**CAT, "weights": [1, -1]}]), "tables[0].columns[0].weights",
     "must not be negative"),
    ("zero weights", one_table([{**CAT, "weights": [0, 0]}]), "tables[0].columns[0].weights", "all be zero"),
    ("duplicate categories", one_table([{**CAT, "categories": ["a", "a"]}]), "tables[0].columns[0].categories",
     "distinct"),
    ("category type", one_table([{**CAT, "type": "int"}]), "tables[0].columns[0].categories[0]",
     "must be an integer"),
    ("nullable > 1", one_table([col(nullable=1.5)]), "tables[0].columns[0].nullable", "between 0 and 1"),
    ("unique impossible", one_table([col(unique=True)], rows=100), "tables[0].columns[0].unique",
     "only 11 distinct"),
    ("unique unsupported", one_table([{**FLT, "unique": True}]), "tables[0].columns[0].unique",
     "not supported"),
    ("unique weighted", one_table([{**CAT, "weights": [1, 2], "unique": True}], rows=2),
     "tables[0].columns[0].weights", "cannot be combined"),
    ("duplicate column", one_table([INT, INT]), "tables[0].columns[1].name", "duplicate column"),
    ("bad pattern", one_table([{"name": "p", "type": "string", "generator": "pattern", "pattern": "a+"}]),
     "tables[0].columns[0].pattern", "unbounded"),
    ("bad date", one_table([{"name": "d", "type": "date", "generator": "uniform", "min": "2020-13-01",
                             "max": "2021-01-01"}]), "tables[0].columns[0].min", "not a valid ISO 8601 date"),
    ("constraint unknown column", one_table([INT], constraints=[{"type": "range", "column": "nope", "min": 1}]),
     "tables[0].constraints[0].column", "unknown column 'nope'"),
    ("constraint unknown type", one_table([INT], constraints=[{"type": "magic"}]),
     "tables[0].constraints[0].type", "unknown constraint type"),
    ("derived without rule", one_table([{"name": "d", "type": "int"}]), "tables[0].columns[0].generator",
     "is required"),
    ("derived has generator", one_table([INT, {**INT, "name": "z"}],
                                        constraints=[{"type": "less_than", "left": "x", "right": "z"}]),
     "tables[0].columns[1].generator", "remove its generator"),
    ("less_than types", one_table([INT, {"name": "z", "type": "float"}],
                                  constraints=[{"type": "less_than", "left": "x", "right": "z"}]),
     "tables[0].constraints[0].right", "share one of the types"),
    ("gap not positive", one_table([INT, {"name": "z", "type": "int"}], constraints=[
        {"type": "less_than", "left": "x", "right": "z", "gap": {"distribution": "uniform", "min": 0, "max": 3}}]),
     "tables[0].constraints[0].gap.min", "must be > 0"),
    ("cyclic constraints", one_table([{"name": "a", "type": "int"}, {"name": "b", "type": "int"}], constraints=[
        {"type": "less_than", "left": "a", "right": "b"}, {"type": "less_than", "left": "b", "right": "a"}]),
     "tables[0].constraints", "cyclic dependency"),
    ("range min > max", one_table([INT], constraints=[{"type": "range", "column": "x", "min": 5, "max": 1}]),
     "tables[0].constraints[0].min", "must not exceed max"),
    ("conditional bad key", one_table([CAT, {**CAT, "name": "d"}], constraints=[
        {"type": "conditional", "column": "d", "given": "c", "weights": {"zz": [1, 1]}}]),
     "tables[0].constraints[0].weights.zz", "not a category of 'c'"),
    ("correlation unknown column", one_table([FLT], correlations={"columns": ["y", "q"], "matrix": [[1, 0], [0, 1]]}),
     "tables[0].correlations.columns[1]", "unknown column 'q'"),
    ("correlation not numeric", one_table([FLT, CAT], correlations={"columns": ["y", "c"],
                                                                    "matrix": [[1, 0], [0, 1]]}),
     "tables[0].correlations.columns[1]", "must be a non-unique int/float"),
    ("correlation not PD", one_table([FLT, {**FLT, "name": "z"}, {**FLT, "name": "w"}], correlations={
        "columns": ["y", "z", "w"], "matrix": [[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]]}),
     "tables[0].correlations.matrix", "not positive definite"),
    ("correlation asymmetric", one_table([FLT, {**FLT, "name": "z"}], correlations={
        "columns": ["y", "z"], "matrix": [[1, 0.5], [0.4, 1]]}), "tables[0].correlations.matrix", "symmetric"),
    ("correlation shape", one_table([FLT, {**FLT, "name": "z"}], correlations={
        "columns": ["y", "z"], "matrix": [[1, 0.5]]}), "tables[0].correlations.matrix", "at least 2"),
    ("fk unknown table", {"tables": [{"name": "o", "rows": 5, "columns": [
        {"name": "c", "generator": "foreign_key", "references": "nope.id"}]}]},
     "tables[0].columns[0].references", "unknown table 'nope'"),
    ("fk not unique target", {"tables": [
        {"name": "p", "rows": 5, "columns": [INT]},
        {"name": "o", "rows": 5, "columns": [{"name": "c", "generator": "foreign_key", "references": "p.x"}]}]},
     "tables[1].columns[0].references", "must reference a unique"),
    ("fk cycle", {"tables": [
        {"name": "a", "rows": 5, "columns": [{"name": "id", "type": "int", "generator": "sequence", "unique": True},
                                            {"name": "b_id", "generator": "foreign_key", "references": "b.id"}]},
        {"name": "b", "rows": 5, "columns": [{"name": "id", "type": "int", "generator": "sequence", "unique": True},
                                            {"name": "a_id", "generator": "foreign_key", "references": "a.id"}]}]},
     "tables[0].columns", "cyclic foreign keys"),
    ("per parent unknown", {"tables": [{"name": "o", "rows_per_parent": {"parent": "p", "distribution": "poisson",
                                                                         "lam": 2}, "columns": [INT]}]},
     "tables[0].rows_per_parent", "no foreign_key column references 'p'"),
]


@pytest.mark.parametrize(("label", "schema", "path", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_names_field(label: str, schema: Any, path: str, message: str) -> None:
    with pytest.raises(SchemaError) as info:
        validate_schema(schema)
    assert info.value.field_path == path, str(info.value)
    assert message in info.value.message, str(info.value)


def test_good_schema_normalises() -> None:
    norm = validate_schema(wide())
    assert isinstance(norm, NormalizedSchema)
    assert [t.name for t in norm.tables] == ["customers", "orders"]
    fk = norm.table("orders").column("customer_id")
    assert fk.type == "int"
    order = norm.table("customers").order
    assert order.index("signup") < order.index("last_seen")
    assert order.index("country") < order.index("city")
    assert validate_schema(norm) is norm


def test_parents_come_first_whatever_the_order() -> None:
    schema = wide()
    schema["tables"].reverse()
    assert [t.name for t in validate_schema(schema).tables] == ["customers", "orders"]


def test_documented_example_is_valid() -> None:
    import json
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "mock-schema.md").read_text(encoding="utf-8")
    example = json.loads(re.search(r"```json\n(.*?)```", doc, re.S).group(1))  # type: ignore[union-attr]
    assert [t.name for t in validate_schema(example).tables] == ["customers", "orders"]
