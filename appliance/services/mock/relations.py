"""Row counts of every table and the parent of every child row, computed without materialising.

A child table's size is the sum of per-parent child counts, drawn per block of parent rows. We
keep one running total per parent block (a few integers per 65,536 parents), so any range of child
rows can be mapped to its parents later by regenerating only the parent blocks it touches.
"""

from __future__ import annotations

import math

import numpy as np

from .distributions import Marginal
from .errors import SchemaError
from .model import NormalizedSchema, TableSpec
from .rng import BLOCK_ROWS, block_rng
from .validate import MAX_ROWS
from .validate_columns import check_unique

COUNT_STREAM = "__children__"


class ChildIndex:
    """Per-parent child counts of one child table, and the child-row -> parent-row mapping."""

    def __init__(self, seed: int, table: TableSpec, parent_rows: int) -> None:
        assert table.children is not None
        spec = dict(table.children.distribution)
        self.marginal = Marginal(spec.pop("distribution"), spec, integer=True)
        self.seed, self.table, self.parent_rows = seed, table.name, parent_rows
        blocks = math.ceil(parent_rows / BLOCK_ROWS)
        self.offsets = np.zeros(blocks + 1, dtype=np.int64)
        for b in range(blocks):
            self.offsets[b + 1] = self.offsets[b] + int(self.counts(b).sum())
        self._cache: tuple[int, np.ndarray] | None = None

    @property
    def total(self) -> int:
        return int(self.offsets[-1])

    def counts(self, parent_block: int) -> np.ndarray:
        n = min(BLOCK_ROWS, self.parent_rows - parent_block * BLOCK_ROWS)
        rng = block_rng(self.seed, self.table, COUNT_STREAM, "count", parent_block)
        return np.maximum(self.marginal.sample(rng, n), 0).astype(np.int64)

    def _cumulative(self, parent_block: int) -> np.ndarray:
        if self._cache is None or self._cache[0] != parent_block:
            self._cache = (parent_block, np.cumsum(self.counts(parent_block)))
        return self._cache[1]

    def parents(self, start: int, stop: int) -> np.ndarray:
        """Parent row index of each child row in ``[start, stop)`` (children are grouped by parent)."""
        rows = np.arange(start, stop, dtype=np.int64)
        out = np.empty(rows.size, dtype=np.int64)
        first = int(np.searchsorted(self.offsets, start, side="right")) - 1
        last = int(np.searchsorted(self.offsets, max(stop - 1, start), side="right")) - 1
        for pb in range(first, last + 1):
            lo = max(start, int(self.offsets[pb]))
            hi = min(stop, int(self.offsets[pb + 1]))
            if hi <= lo:
                continue
            local = np.arange(lo, hi, dtype=np.int64) - self.offsets[pb]
            cum = self._cumulative(pb)
            out[lo - start : hi - start] = pb * BLOCK_ROWS + np.searchsorted(cum, local, side="right")
        return out


class Layout:
    """Row totals of all tables for one seed, plus the child indexes that produced them."""

    def __init__(self, schema: NormalizedSchema, seed: int) -> None:
        self.totals: dict[str, int] = {}
        self.children: dict[str, ChildIndex] = {}
        for table in schema.tables:
            if table.children is None:
                assert table.rows is not None
                self.totals[table.name] = table.rows
                continue
            index = ChildIndex(seed, table, self.totals[table.children.parent])
            if index.total > MAX_ROWS:
                raise SchemaError(f"{table.children.path}", f"would produce {index.total} rows (limit {MAX_ROWS})")
            self.children[table.name] = index
            self.totals[table.name] = index.total
            for col in table.columns:
                if col.unique:
                    check_unique(col, index.total)
        for table in schema.tables:
            for col in table.columns:
                if col.generator == "foreign_key" and self.totals[col.params["table"]] == 0 and self.totals[table.name]:
                    raise SchemaError(f"{col.path}.references", f"table {col.params['table']!r} has no rows")
