"""JSON text that never holds the bare words ``NaN`` or ``Infinity``.

Python's ``json`` writes non-finite floats that way, which is not JSON: browsers' ``JSON.parse``,
Go and jq then reject the whole document. Data may legitimately hold such floats (an uploaded
Parquet file, a fitted statistic, a diverging simulation), so they are written as ``null``, the
way JavaScript's ``JSON.stringify`` does. The API's JSON provider and the event streams use this.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any


def finite(value: Any) -> Any:
    """``value`` with every non-finite float, at any depth, replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def dumps(obj: Any, dump: Callable[..., str] = json.dumps, **kwargs: Any) -> str:
    """``dump(obj, **kwargs)`` with non-finite floats as ``null``; plain data takes one pass."""
    try:
        return dump(obj, **{**kwargs, "allow_nan": False})
    except ValueError as exc:
        if "Out of range float values" not in str(exc):
            raise
    plain = json.loads(dump(obj, **{**kwargs, "allow_nan": True}))  # `default` has run: plain data now
    return dump(finite(plain), **{**kwargs, "allow_nan": False})
