"""Generate one column for one block of rows, and convert internal values to Arrow.

Internally numbers, booleans and temporals are numpy arrays (temporals as integer days/seconds)
and strings are Arrow arrays; category columns also record their codes so a conditional
constraint on another column can read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import patterns, text
from .distributions import PARAMS, Marginal
from .keys import Values, has_index_form, permuted, unique_values
from .model import ColumnSpec
from .rng import block_rng

ARROW_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "date": pa.date32(),
    "time": pa.time64("us"),
    "timestamp": pa.timestamp("us"),
}


@dataclass
class Block:
    """One block of rows of one table: where it sits and what has been generated so far."""

    seed: int
    table: str
    index: int
    start: int
    n: int
    total_rows: int
    values: dict[str, Values] = field(default_factory=dict)
    codes: dict[str, np.ndarray] = field(default_factory=dict)
    uniforms: dict[str, np.ndarray] = field(default_factory=dict)

    def rng(self, column: str, stream: str) -> np.random.Generator:
        return block_rng(self.seed, self.table, column, stream, self.index)

    @property
    def rows(self) -> np.ndarray:
        return np.arange(self.start, self.start + self.n, dtype=np.int64)


def _category_codes(col: ColumnSpec, block: Block, conditional: dict | None) -> np.ndarray:
    p = col.params
    k = len(p["categories"])
    u = block.rng(col.name, "values").random(block.n)
    weights = p.get("weights")
    base = np.cumsum(weights) if weights is not None else np.arange(1, k + 1) / k
    codes = np.searchsorted(base, u * base[-1], side="right")
    if conditional is not None:
        given = block.codes[conditional["given"]]
        for g, probs in conditional["table"].items():
            rows = np.flatnonzero(given == g)
            cum = np.cumsum(probs)
            codes[rows] = np.searchsorted(cum, u[rows] * cum[-1], side="right")
    return np.minimum(codes, k - 1)


def generate(col: ColumnSpec, block: Block, conditional: dict | None = None) -> Values:
    """Values of a non-derived column for this block (internal representation)."""
    gen, p, n = col.generator, col.params, block.n
    if has_index_form(col):
        out = unique_values(block.seed, block.table, col, block.total_rows, block.rows)
        if gen == "category":
            block.codes[col.name] = np.asarray(out)
            return category_values(col, np.asarray(out))
        return out
    rng = block.rng(col.name, "values")
    if gen == "category":
        codes = _category_codes(col, block, conditional)
        block.codes[col.name] = codes
        return category_values(col, codes)
    if gen in PARAMS:
        if col.type in ("date", "time", "timestamp"):
            return rng.integers(p["min"], p["max"] + 1, size=n, dtype=np.int64)
        marginal = Marginal(gen, p, col.type == "int")
        if col.name in block.uniforms:
            return marginal.from_uniform(block.uniforms[col.name])
        return marginal.sample(rng, n)
    if gen == "bernoulli":
        return rng.random(n) < p["p"]
    if gen in ("pattern", "phone"):
        return patterns.generate(p["atoms"], rng, n)
    if gen == "email":
        suffix = permuted(block.seed, block.table, col, block.total_rows, block.rows) if col.unique else None
        return text.email(rng, n, suffix)
    if gen == "words":
        return text.word_run(rng, n, p["min"], p["max"])
    if gen in text.SIMPLE:
        return text.SIMPLE[gen](rng, n)
    if gen == "constant":
        if col.type == "string":
            return pa.array([p["value"]] * n, type=pa.string())
        return np.full(n, p["value"])
    raise ValueError(f"generator {gen!r} is produced elsewhere")


def category_values(col: ColumnSpec, codes: np.ndarray) -> Values:
    cats = col.params["categories"]
    if col.type == "string":
        return pa.array(cats, type=pa.string()).take(pa.array(codes, type=pa.int64()))
    dtype = {"int": np.int64, "float": np.float64, "bool": np.bool_}.get(col.type, np.int64)
    table: np.ndarray = np.array(cats, dtype=dtype)
    return table[codes]


def to_arrow(col: ColumnSpec, values: Values, null_mask: np.ndarray | None) -> pa.Array:
    """Internal values to the column's Arrow type, with nulls where ``null_mask`` is true."""
    arrow_type = ARROW_TYPES[col.type]
    if isinstance(values, pa.Array):
        if null_mask is None:
            return values
        return pc.if_else(pa.array(null_mask), pa.scalar(None, arrow_type), values)
    arr: np.ndarray = np.asarray(values)
    if col.type in ("time", "timestamp"):
        arr = arr.astype(np.int64) * 1_000_000
    elif col.type == "date":
        arr = arr.astype(np.int32)
    elif col.type == "int":
        arr = arr.astype(np.int64)
    elif col.type == "float":
        arr = arr.astype(np.float64)
    return pa.array(arr, type=arrow_type, mask=null_mask)
