"""Cursor pagination shared by every list: ids sort by time, so the cursor is the last id seen."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

MAX_LIMIT = 200
DEFAULT_LIMIT = 20


@dataclass
class Page:
    data: list[dict[str, Any]]
    has_more: bool

    @property
    def next_after(self) -> str | None:
        return self.data[-1]["id"] if self.has_more and self.data else None


def page(
    conn: sqlite3.Connection,
    table: str,
    where: dict[str, Any],
    *,
    limit: int,
    after: str | None,
    columns: str = "*",
) -> Page:
    """Rows of ``table`` matching equality filters ``where``, ordered by id, after ``after``."""
    clauses = [f"{name} = ?" for name in where]
    params: list[Any] = list(where.values())
    if after:
        clauses.append("id > ?")
        params.append(after)
    sql = f"SELECT {columns} FROM {table}"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY id LIMIT ?"
    params.append(limit + 1)
    rows = [dict(r) for r in conn.execute(sql, params).fetchall()]
    return Page(rows[:limit], len(rows) > limit)
