"""Cursor pagination shared by every list: ids sort by time, so the cursor is the last id seen."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Page:
    data: list[dict[str, Any]]
    has_more: bool

    @property
    def next_after(self) -> str | None:
        return self.data[-1]["id"] if self.has_more and self.data else None

    def listing(self, view: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """The list answer every route gives: ``{data, count, has_more, next_after}``."""
        data = [view(row) for row in self.data]
        return {"data": data, "count": len(data), "has_more": self.has_more, "next_after": self.next_after}


def page(
    conn: sqlite3.Connection,
    table: str,
    where: dict[str, Any],
    *,
    limit: int,
    after: str | None,
    columns: str = "*",
    descending: bool = False,
) -> Page:
    """Rows of ``table`` matching the equality filters in ``where`` (None values are ignored),
    ordered by id, after ``after``.

    With ``descending`` the order is newest first and ``after`` means "older than": the cursor is
    still the last id of the page before, so keyset paging works the same both ways and a row
    inserted while a caller pages is neither skipped nor repeated.

    A ``tenant_id`` filter is never ignored: every listing is one tenant's, and a None there would
    silently page every tenant's rows, so it is refused."""
    if "tenant_id" in where and where["tenant_id"] is None:
        raise ValueError(f"a page of {table} needs the tenant id it belongs to")
    filters = {name: value for name, value in where.items() if value is not None}
    clauses = [f"{name} = ?" for name in filters]
    params: list[Any] = list(filters.values())
    if after:
        clauses.append("id < ?" if descending else "id > ?")
        params.append(after)
    sql = f"SELECT {columns} FROM {table}"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY id DESC LIMIT ?" if descending else " ORDER BY id LIMIT ?"
    params.append(limit + 1)
    rows = [dict(r) for r in conn.execute(sql, params).fetchall()]
    return Page(rows[:limit], len(rows) > limit)
