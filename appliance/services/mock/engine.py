"""Build a table block by block and cut it into batches of any size.

Values depend on (seed, table, column, block of 65,536 rows) only, so the batch size used for
writing changes memory use and progress granularity, never the data. Memory is bounded by one
block plus one batch, whatever the row count.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from . import bounds, rules
from . import columns as colgen
from .copula import copula_cholesky, correlated_uniforms
from .distributions import Marginal
from .keys import unique_values
from .model import ColumnSpec, ConstraintSpec, NormalizedSchema, TableSpec
from .relations import Layout
from .rng import BLOCK_ROWS, block_rng

_FEW_VALUES = frozenset({"category", "constant", "first_name", "last_name", "city", "country", "domain"})
"""String generators with a small domain: worth dictionary encoding in Parquet."""


class TableEngine:
    """Generates one table of a validated schema for one seed."""

    def __init__(self, schema: NormalizedSchema, table: TableSpec, seed: int, layout: Layout) -> None:
        self.schema, self.table, self.seed, self.layout = schema, table, seed, layout
        self.total = layout.totals[table.name]
        self.arrow_schema = pa.schema([pa.field(c.name, colgen.ARROW_TYPES[c.type]) for c in table.columns])
        self._cols = {c.name: c for c in table.columns}
        for col in table.columns:
            if col.generator == "sequence":
                bounds.check_sequence(col, self.total)  # a child table's row count depends on the seed
        self.dictionary_columns = [c.name for c in table.columns if c.type == "string" and c.generator in _FEW_VALUES]
        self._derivations: dict[str, ConstraintSpec] = {}
        self._conditionals: dict[str, dict] = {}
        self._ranges: dict[str, list[ConstraintSpec]] = {}
        for rule in table.constraints:
            p = rule.params
            if rule.kind in ("less_than", "linear"):
                self._derivations[p.get("right") or p["target"]] = rule
            elif rule.kind == "conditional":
                self._conditionals[p["column"]] = p
            else:
                self._ranges.setdefault(p["column"], []).append(rule)
        self._chol: np.ndarray | None = None
        if table.correlation is not None:
            corr = table.correlation
            marginals = [self._marginal(self._cols[name]) for name in corr.columns]
            self._chol = copula_cholesky(marginals, np.array(corr.matrix))
        self._cached: tuple[int, pa.RecordBatch] | None = None

    @staticmethod
    def _marginal(col: ColumnSpec) -> Marginal:
        return Marginal(col.generator, col.params, col.type == "int")

    def _foreign_key(self, col: ColumnSpec, block: colgen.Block) -> colgen.Values:
        parent = self.schema.table(col.params["table"])
        parent_rows = self.layout.totals[parent.name]
        child_index = self.layout.children.get(self.table.name)
        if child_index is not None and self.table.children is not None and self.table.children.column == col.name:
            idx = child_index.parents(block.start, block.start + block.n)
        else:
            idx = block.rng(col.name, "values").integers(0, max(parent_rows, 1), size=block.n)
        target = parent.column(col.params["column"])
        values = unique_values(self.seed, parent.name, target, parent_rows, idx)
        if target.generator == "category":
            return colgen.category_values(target, np.asarray(values))
        return values

    def _build_block(self, index: int) -> pa.RecordBatch:
        start = index * BLOCK_ROWS
        n = min(BLOCK_ROWS, self.total - start)
        block = colgen.Block(self.seed, self.table.name, index, start, n, self.total)
        if self._chol is not None and self.table.correlation is not None:
            rng = block_rng(self.seed, self.table.name, "__copula__", "values", index)
            u = correlated_uniforms(rng, n, self._chol)
            for j, name in enumerate(self.table.correlation.columns):
                block.uniforms[name] = u[:, j]
        for name in self.table.order:
            col = self._cols[name]
            if name in self._derivations:
                values: colgen.Values = rules.derive(col, self._derivations[name], block)
            elif col.generator == "foreign_key":
                values = self._foreign_key(col, block)
            else:
                values = colgen.generate(col, block, self._conditionals.get(name))
            for rule in self._ranges.get(name, []):
                values = rules.clip(np.asarray(values), rule)
            bounds.check_block(col, values)
            block.values[name] = values
        arrays = []
        for col in self.table.columns:
            mask = None
            if col.nullable > 0:
                mask = block.rng(col.name, "nulls").random(n) < col.nullable
            arrays.append(colgen.to_arrow(col, block.values[col.name], mask))
        return pa.RecordBatch.from_arrays(arrays, schema=self.arrow_schema)

    def block(self, index: int) -> pa.RecordBatch:
        """One block of rows (the last one may be short); the latest is cached."""
        if self._cached is None or self._cached[0] != index:
            self._cached = (index, self._build_block(index))
        return self._cached[1]

    def rows(self, start: int, stop: int) -> pa.RecordBatch:
        """Rows ``[start, stop)`` as one batch, whatever blocks they span."""
        stop = min(stop, self.total)
        parts = []
        pos = start
        while pos < stop:
            b = pos // BLOCK_ROWS
            end = min(stop, (b + 1) * BLOCK_ROWS)
            parts.append(self.block(b).slice(pos - b * BLOCK_ROWS, end - pos))
            pos = end
        if not parts:
            return pa.RecordBatch.from_pylist([], schema=self.arrow_schema)
        return parts[0] if len(parts) == 1 else pa.concat_batches(parts)

    def batches(self, chunk_size: int) -> Iterator[pa.RecordBatch]:
        for start in range(0, self.total, chunk_size):
            yield self.rows(start, start + chunk_size)
