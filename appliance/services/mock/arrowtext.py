"""Build Arrow string arrays from byte matrices and word lists without Python loops.

String columns are the slow part of every mock-data tool; assembling them as uint8 matrices and
handing the buffers straight to Arrow keeps them within a small factor of numeric columns.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def from_matrix(matrix: np.ndarray, mask: np.ndarray | None = None) -> pa.StringArray:
    """Rows of a ``(n, width)`` uint8 matrix as UTF-8 strings; ``mask`` keeps only true cells."""
    n, width = matrix.shape
    if mask is None:
        data = np.ascontiguousarray(matrix).reshape(-1)
        offsets = np.arange(n + 1, dtype=np.int64) * width
    else:
        data = matrix[mask]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(mask.sum(axis=1), out=offsets[1:])
    if offsets[-1] < 2**31 - 1:
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data))
    big = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    return big.cast(pa.string())


def pick(words: pa.StringArray, index: np.ndarray) -> pa.StringArray:
    """Words at the given indices (a vectorised ``[words[i] for i in index]``)."""
    return words.take(pa.array(index, type=pa.int64()))


def join(parts: list[pa.Array | str], sep: str = "") -> pa.StringArray:
    """Element-wise concatenation of string arrays and literal strings."""
    return pc.binary_join_element_wise(*parts, sep)


def ints_as_text(values: np.ndarray) -> pa.StringArray:
    """Decimal text of integers."""
    return pc.cast(pa.array(values, type=pa.int64()), pa.string())
