"""Values of unique columns as pure functions of the row index.

A unique column cannot be drawn block by block at random (two blocks could collide), and a
foreign key must be able to look up any parent row without regenerating the parent table. Both
needs are met the same way: value = f(seed, table, column, row index), built on keyed bijections.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import pyarrow as pa

from . import patterns
from .arrowtext import from_matrix
from .model import ColumnSpec
from .rng import KeyedPermutation, name_key, uuid4_bytes

Values: TypeAlias = np.ndarray | pa.Array


def column_key(seed: int, table: str, column: str) -> int:
    return name_key(str(seed), table, column)


def permuted(seed: int, table: str, col: ColumnSpec, size: int, index: np.ndarray) -> np.ndarray:
    """A keyed permutation of ``[0, size)`` evaluated at ``index``."""
    return KeyedPermutation(max(size, 1), column_key(seed, table, col.name))(index)


def unique_values(seed: int, table: str, col: ColumnSpec, total_rows: int, index: np.ndarray) -> Values:
    """Values of a unique (or sequence/uuid) column at the given row indices.

    ``category`` values come back as codes (indices into the categories), so a conditional
    constraint can use them; every other generator returns final values in internal units.
    """
    gen, p = col.generator, col.params
    if gen == "sequence":
        return p["start"] + index.astype(np.int64) * p["step"]
    if gen == "uuid":
        return from_matrix(uuid4_bytes(index, column_key(seed, table, col.name)))
    if gen == "uniform":
        return p["min"] + permuted(seed, table, col, int(p["max"] - p["min"] + 1), index)
    if gen == "category":
        return permuted(seed, table, col, len(p["categories"]), index)
    if gen == "pattern":
        return patterns.generate_unique(p["atoms"], index, column_key(seed, table, col.name), total_rows)
    raise ValueError(f"generator {gen!r} has no row-index form")


def has_index_form(col: ColumnSpec) -> bool:
    """True when values come from ``unique_values`` rather than the block's random stream."""
    return col.generator in ("sequence", "uuid") or (col.unique and col.generator != "email")
