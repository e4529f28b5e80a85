"""Flask's JSON provider, made unable to write ``NaN`` or ``Infinity``.

Python's ``json`` writes non-finite floats as the bare words ``NaN`` and ``Infinity``, which are
not JSON: strict clients (browsers' ``JSON.parse``, Go, jq) then fail on the whole answer. Data
may legitimately hold such floats (an uploaded Parquet file, a fitted statistic), so instead of
failing the request this provider writes them as ``null``, the way JavaScript's
``JSON.stringify`` does. Answers with only finite numbers take the fast path unchanged.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask.json.provider import DefaultJSONProvider


def finite(value: Any) -> Any:
    """``value`` with every non-finite float, at any depth, replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


class FiniteJSONProvider(DefaultJSONProvider):
    """Keys stay in insertion order; ``NaN``/``±Infinity`` become ``null``."""

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs["allow_nan"] = False
        try:
            return super().dumps(obj, **kwargs)
        except ValueError as exc:
            if "Out of range float values" not in str(exc):
                raise
            return super().dumps(finite(json.loads(super().dumps(obj, **{**kwargs, "allow_nan": True}))), **kwargs)
