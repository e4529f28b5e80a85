"""Turn the planner's reading of a text (tables, phrases, flags) into a mock schema dict.

Separate from the text parsing so the mapping rules (keyword table, defaults, foreign keys,
ordering constraints) can be read and changed in one place.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from . import keywords as kw
from .parse import singular, snake

DEFAULT_ROWS = 1_000
"""Rows of a table whose description gives no count."""


@dataclass
class TablePlan:
    """What the text says about one table."""

    entity: str
    name: str
    rows: int | None = None
    per_parent: dict[str, Any] | None = None
    parent: str | None = None
    phrases: list[str] = field(default_factory=list)
    flags: list[tuple[str, float]] = field(default_factory=list)
    missing: list[tuple[str, float]] = field(default_factory=list)


def match(phrase: str) -> tuple[str | None, str]:
    """(keyword, cleaned phrase): the longest known keyword inside the phrase, if any."""
    words = [w for w in phrase.split() if w not in kw.STOPWORDS]
    cleaned = " ".join(words)
    for size in range(min(len(words), 3), 0, -1):
        for start in range(len(words) - size + 1):
            chunk = words[start:start + size]
            for candidate in (" ".join(chunk), " ".join(singular(w) for w in chunk)):
                if candidate in kw.ATTRIBUTES or candidate in kw.FLAGS:
                    return candidate, cleaned
    return None, cleaned


def _with_years(spec: dict[str, Any], keyword: str | None, years: tuple[int, int] | None) -> dict[str, Any]:
    if years is None or spec["type"] not in ("date", "timestamp") or "birth" in (keyword or ""):
        return spec
    if spec["type"] == "date":
        return {**spec, "min": f"{years[0]}-01-01", "max": f"{years[1]}-12-31"}
    return {**spec, "min": f"{years[0]}-01-01T00:00:00", "max": f"{years[1]}-12-31T23:59:59"}


def _column(phrase: str, table: TablePlan, years: tuple[int, int] | None,
            warnings: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    keyword, cleaned = match(phrase)
    name = snake(cleaned or phrase)
    if keyword in kw.FLAGS and keyword not in kw.ATTRIBUTES:
        spec: dict[str, Any] = {"type": "bool", "generator": "bernoulli", "p": kw.FLAGS[keyword]}
    elif keyword == "status" and table.name in kw.STATUS_BY_ENTITY:
        spec = copy.deepcopy(kw.STATUS_BY_ENTITY[table.name])
    elif keyword is not None:
        spec = _with_years(copy.deepcopy(kw.ATTRIBUTES[keyword]), keyword, years)
    else:
        spec = copy.deepcopy(kw.TEXT_FALLBACK)
        warnings.append(f"unknown attribute {phrase!r} in table {table.name!r}: generated as free text (1-3 words)")
    return {"name": name, **spec}, {"table": table.name, "phrase": phrase, "column": name, "keyword": keyword}


def _unique_names(columns: list[dict[str, Any]]) -> None:
    seen: dict[str, int] = {}
    for col in columns:
        base = col["name"]
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            col["name"] = f"{base}_{seen[base]}"


def _ordering(columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``less_than`` rules for known (earlier, later) pairs such as order_date < ship_date."""
    by_name = {c["name"]: c for c in columns}
    rules: list[dict[str, Any]] = []
    derived: set[str] = set()
    for left, right in kw.ORDERED_PAIRS:
        a, b = by_name.get(left), by_name.get(right)
        if a is None or b is None or a["type"] != b["type"] or right in derived or b.get("nullable"):
            continue
        for key in [k for k in b if k not in ("name", "type")]:
            del b[key]
        derived.add(right)
        rules.append({"type": "less_than", "left": left, "right": right})
    return rules


def _table_names(tables: list[TablePlan]) -> None:
    seen: dict[str, int] = {}
    for t in tables:
        seen[t.name] = seen.get(t.name, 0) + 1
        if seen[t.name] > 1:
            t.name = f"{t.name}_{seen[t.name]}"


def build_schema(tables: list[TablePlan], years: tuple[int, int] | None,
                 warnings: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The schema dict and, per column, which phrase and keyword produced it."""
    _table_names(tables)
    names = [t.name for t in tables]
    out: list[dict[str, Any]] = []
    explained: list[dict[str, Any]] = []
    for index, table in enumerate(tables):
        parent = table.parent if table.parent is not None else _known_parent(table.name, names[:index])
        columns = _key_columns(parent)
        for phrase in _phrases(table):
            col, note = _column(phrase, table, years, warnings)
            columns.append(col)
            explained.append(note)
        columns.extend(_flag_columns(table))
        explained.extend(_apply_missing(table, columns, years, warnings))
        _unique_names(columns)
        out.append(_table_entry(table, parent, columns, warnings))
    return {"tables": out}, explained


def _known_parent(name: str, earlier: list[str]) -> str | None:
    """The first usual parent of table ``name`` (orders -> customers) among the tables before it."""
    return next((p for p in kw.PARENTS.get(name, ()) if p in earlier), None)


def _key_columns(parent: str | None) -> list[dict[str, Any]]:
    """``id``, and ``<parent>_id`` referencing the parent table when there is one."""
    columns: list[dict[str, Any]] = [{"name": "id", "type": "int", "generator": "sequence", "unique": True}]
    if parent is not None:
        columns.append({"name": f"{singular(parent)}_id", "generator": "foreign_key",
                        "references": f"{parent}.id"})
    return columns


def _phrases(table: TablePlan) -> list[str]:
    """The attribute phrases of a table; the entity's usual attributes when the text lists none."""
    if table.phrases or table.flags:
        return table.phrases
    known = kw.ENTITIES.get(table.entity)
    return list(known[1]) if known else ["created at"]


def _flag_columns(table: TablePlan) -> list[dict[str, Any]]:
    """A boolean column per percentage flag ("5% churn")."""
    return [{"name": snake(match(flag)[1] or flag), "type": "bool", "generator": "bernoulli", "p": p}
            for flag, p in table.flags]


def _apply_missing(table: TablePlan, columns: list[dict[str, Any]], years: tuple[int, int] | None,
                   warnings: list[str]) -> list[dict[str, Any]]:
    """Make the columns named in "10% missing email" nullable, adding those not there yet; key columns
    stay non-null (with a warning). Returns the explanations of the columns added."""
    explained: list[dict[str, Any]] = []
    for phrase, p in table.missing:
        name = snake(match(phrase)[1] or phrase)
        target = next((c for c in columns if c["name"] == name or c["name"] == snake(phrase)), None)
        if target is None:
            target, note = _column(phrase, table, years, warnings)
            columns.append(target)
            explained.append(note)
        if target.get("unique") or target.get("generator") == "foreign_key":
            warnings.append(f"column {target['name']!r} cannot have missing values; ignored")
            continue
        target["nullable"] = p
    return explained


def _table_entry(table: TablePlan, parent: str | None, columns: list[dict[str, Any]],
                 warnings: list[str]) -> dict[str, Any]:
    """The schema entry of one table: its columns, its size (rows, or rows per parent row) and the
    ordering constraints among its columns."""
    entry: dict[str, Any] = {"name": table.name, "columns": columns}
    if table.per_parent is not None and parent is not None:
        entry["rows_per_parent"] = {"parent": parent, **table.per_parent}
    else:
        if table.rows is None:
            warnings.append(f"no row count for {table.name!r}; using {DEFAULT_ROWS:,}")
        entry["rows"] = table.rows if table.rows is not None else DEFAULT_ROWS
    rules = _ordering(columns)
    if rules:
        entry["constraints"] = rules
    return entry
