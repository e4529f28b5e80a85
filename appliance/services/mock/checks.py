"""Typed readers for schema JSON that fail with a ``SchemaError`` naming the exact field.

Validation code reads every value through these helpers, so no raw ``KeyError`` or ``TypeError``
ever reaches the user and every message has the same shape.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from typing import Any

from .errors import SchemaError

_EPOCH_DAY = dt.date(1970, 1, 1)
_STEP = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_STEP_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SchemaError(path, f"must be an object, got {type(value).__name__}")
    return value


def only_keys(d: dict[str, Any], allowed: Iterable[str], path: str) -> None:
    allowed_set = set(allowed)
    for key in d:
        if key not in allowed_set:
            raise SchemaError(f"{path}.{key}" if path else str(key),
                              f"unknown key; allowed here: {', '.join(sorted(allowed_set))}")


def required(d: dict[str, Any], key: str, path: str) -> Any:
    if key not in d or d[key] is None:
        raise SchemaError(f"{path}.{key}" if path else key, "is required")
    return d[key]


def number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaError(path, f"must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise SchemaError(path, "must be finite")
    return float(value)


def integer(value: Any, path: str, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
        raise SchemaError(path, f"must be an integer, got {value!r}")
    out = int(value)
    if minimum is not None and out < minimum:
        raise SchemaError(path, f"must be >= {minimum}, got {out}")
    if maximum is not None and out > maximum:
        raise SchemaError(path, f"must be <= {maximum}, got {out}")
    return out


def probability(value: Any, path: str) -> float:
    p = number(value, path)
    if not 0.0 <= p <= 1.0:
        raise SchemaError(path, f"must be between 0 and 1, got {value!r}")
    return p


def text(value: Any, path: str, max_len: int = 200) -> str:
    if not isinstance(value, str) or not value:
        raise SchemaError(path, "must be a non-empty string")
    if len(value) > max_len:
        raise SchemaError(path, f"must be at most {max_len} characters")
    return value


def boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise SchemaError(path, f"must be true or false, got {value!r}")
    return value


def array(value: Any, path: str, min_len: int = 0, max_len: int = 100_000) -> list[Any]:
    if not isinstance(value, list):
        raise SchemaError(path, f"must be a list, got {type(value).__name__}")
    if len(value) < min_len:
        raise SchemaError(path, f"must have at least {min_len} item(s)")
    if len(value) > max_len:
        raise SchemaError(path, f"must have at most {max_len} items")
    return value


def temporal(value: Any, kind: str, path: str) -> int:
    """ISO text to integer units: days (date), seconds (timestamp, UTC) or seconds of day (time)."""
    if not isinstance(value, str):
        raise SchemaError(path, f"must be an ISO 8601 {kind} string, got {value!r}")
    try:
        if kind == "date":
            return (dt.date.fromisoformat(value) - _EPOCH_DAY).days
        if kind == "time":
            t = dt.time.fromisoformat(value)
            return t.hour * 3600 + t.minute * 60 + t.second
        stamp = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise SchemaError(path, f"is not a valid ISO 8601 {kind}: {value!r}") from exc
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
    return math.floor((stamp - dt.datetime(1970, 1, 1)).total_seconds())


def step(value: Any, kind: str, path: str) -> int:
    """A sequence step: an integer (days for dates, seconds for timestamps) or text like ``15m``."""
    if isinstance(value, str):
        match = _STEP.match(value)
        if not match:
            raise SchemaError(path, "must be an integer or a duration such as '30s', '15m', '1h', '1d'")
        seconds = int(match.group(1)) * _STEP_SECONDS[match.group(2)]
        if kind == "date":
            if seconds % 86400:
                raise SchemaError(path, "a date step must be whole days")
            return seconds // 86400
        return seconds
    out = integer(value, path)
    if out == 0:
        raise SchemaError(path, "must not be zero")
    return out


def identifier(value: Any, path: str) -> str:
    name = text(value, path, 64)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise SchemaError(path, "must start with a letter or '_' and hold only letters, digits and '_'")
    return name
