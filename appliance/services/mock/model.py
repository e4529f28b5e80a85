"""The normalised, validated form of a mock schema.

The validator turns the user's JSON into these frozen objects once, so the engine can trust every
field (types checked, defaults filled, dates turned into integer units) and never re-validate.
Temporal values are integers: dates in days since 1970-01-01, timestamps in seconds since the
epoch (UTC, naive), times in seconds since midnight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TYPES = ("int", "float", "bool", "string", "date", "time", "timestamp")
NUMERIC_TYPES = frozenset({"int", "float"})
TEMPORAL_TYPES = frozenset({"date", "time", "timestamp"})


@dataclass(frozen=True)
class ColumnSpec:
    """One column: its type, its generator and that generator's normalised parameters."""

    name: str
    type: str
    generator: str
    params: dict[str, Any]
    nullable: float = 0.0
    unique: bool = False
    path: str = ""


@dataclass(frozen=True)
class ConstraintSpec:
    """A rule between columns: ``less_than``, ``linear``, ``range`` or ``conditional``."""

    kind: str
    params: dict[str, Any]
    path: str = ""


@dataclass(frozen=True)
class CorrelationSpec:
    """A target Pearson correlation matrix between numeric columns (a Gaussian copula)."""

    columns: tuple[str, ...]
    matrix: tuple[tuple[float, ...], ...]
    path: str = ""


@dataclass(frozen=True)
class ChildrenSpec:
    """Row count of a child table, drawn per parent row; ``column`` is the grouping foreign key."""

    parent: str
    column: str
    distribution: dict[str, Any]
    path: str = ""


@dataclass(frozen=True)
class TableSpec:
    """A table; ``rows`` is None when the row count comes from ``rows_per_parent``."""

    name: str
    rows: int | None
    columns: tuple[ColumnSpec, ...]
    constraints: tuple[ConstraintSpec, ...] = ()
    correlation: CorrelationSpec | None = None
    children: ChildrenSpec | None = None
    path: str = ""
    order: tuple[str, ...] = ()
    """Column names in dependency order (generation order); output keeps declaration order."""

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


@dataclass(frozen=True)
class NormalizedSchema:
    """All tables, parents before children; ``source`` is the schema as the user sent it."""

    tables: tuple[TableSpec, ...]
    source: dict[str, Any] = field(default_factory=dict, compare=False)

    def table(self, name: str) -> TableSpec:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)
