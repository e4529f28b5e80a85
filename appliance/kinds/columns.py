"""Submit-time checks that params name real columns of the input dataset or model."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from appliance.kinds.base import ParamError


def column_names(columns: Any) -> list[str]:
    """Column names from a dataset row's ``columns`` ([{name, type}]) or a model's (names or a mapping)."""
    if isinstance(columns, dict):
        return [str(name) for name in columns]
    return [c["name"] if isinstance(c, dict) else str(c) for c in columns or []]


def require_known(names: Iterable[str], known: list[str], field: str) -> None:
    for name in names:
        if name not in known:
            shown = ", ".join(known[:20]) + (" …" if len(known) > 20 else "")
            raise ParamError(f"{field}.{name}", f"unknown column {name!r}; the columns are: {shown}")
