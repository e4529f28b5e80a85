"""Keyset pagination (`appliance.store.pages`): every row once, in id order, and only the caller's rows.

Ids sort by creation time (ULID layout), so the cursor is the last id seen; rows created in the same
millisecond, or carrying the same `created_at`, must still each come out exactly once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from appliance.ids import new_id
from appliance.services import identity
from appliance.store import datasets as datasets_store
from appliance.store import pages
from appliance.store.pages import Page

SAME_TIME = "2025-01-01T00:00:00Z"


def _dataset(conn: sqlite3.Connection, tenant_id: str, name: str) -> str:
    row = {
        "id": new_id("ds"),
        "tenant_id": tenant_id,
        "name": name,
        "format": "csv",
        "media_type": "text/csv",
        "size": 3,
        "blake3": "b" * 64,
        "rows": 1,
        "columns": [{"name": "a", "type": "int"}],
        "source_job_id": None,
        "created_at": SAME_TIME,
    }
    datasets_store.insert_dataset(conn, row)
    return str(row["id"])


def _walk(fetch: Callable[[str | None], Page]) -> tuple[list[str], list[Page]]:
    seen: list[str] = []
    got: list[Page] = []
    after: str | None = None
    for _ in range(100):
        result = fetch(after)
        got.append(result)
        seen.extend(r["id"] for r in result.data)
        if not result.has_more:
            break
        after = result.next_after
    return seen, got


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 8, 50])
def test_page_datasets_returns_every_row_once_across_pages(
    conn: sqlite3.Connection, acme: dict[str, Any], limit: int
) -> None:
    ids = [_dataset(conn, acme["id"], f"d{i}") for i in range(7)]  # same created_at, mostly the same ms
    seen, got = _walk(lambda after: datasets_store.page_datasets(conn, acme["id"], limit, after))
    assert seen == sorted(ids)
    assert len(set(seen)) == len(ids)
    for result in got[:-1]:
        assert len(result.data) == limit
        assert result.has_more
        assert result.next_after == result.data[-1]["id"]
    assert not got[-1].has_more
    assert got[-1].next_after is None


def test_exact_multiple_of_limit_ends_without_an_empty_page(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    for i in range(4):
        _dataset(conn, acme["id"], f"d{i}")
    first = datasets_store.page_datasets(conn, acme["id"], 2, None)
    second = datasets_store.page_datasets(conn, acme["id"], 2, first.next_after)
    assert first.has_more and len(first.data) == 2
    assert not second.has_more and len(second.data) == 2
    assert second.next_after is None


def test_empty_table_gives_an_empty_last_page(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    result = datasets_store.page_datasets(conn, acme["id"], 10, None)
    assert result.data == [] and not result.has_more and result.next_after is None
    assert result.listing(dict) == {"data": [], "count": 0, "has_more": False, "next_after": None}


def test_pages_never_show_another_tenants_rows(
    conn: sqlite3.Connection, acme: dict[str, Any], globex: dict[str, Any]
) -> None:
    mine, theirs = [], []
    for i in range(5):  # interleaved, so the other tenant's ids sit between ours
        mine.append(_dataset(conn, acme["id"], f"a{i}"))
        theirs.append(_dataset(conn, globex["id"], f"g{i}"))
    seen, _ = _walk(lambda after: datasets_store.page_datasets(conn, acme["id"], 2, after))
    assert seen == mine
    # a cursor taken from the other tenant's list does not leak their rows either
    leaked = datasets_store.page_datasets(conn, acme["id"], 10, theirs[0])
    assert {r["tenant_id"] for r in leaked.data} == {acme["id"]}


def test_page_datasets_decodes_columns(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    _dataset(conn, acme["id"], "d")
    (row,) = datasets_store.page_datasets(conn, acme["id"], 5, None).data
    assert row["columns"] == [{"name": "a", "type": "int"}]


def test_generic_page_applies_every_filter_and_ignores_none(conn: sqlite3.Connection, acme: dict[str, Any]) -> None:
    keys = [identity.create_key(conn, acme["id"], ["read"], name=f"k{i % 2}")["id"] for i in range(6)]
    odd = pages.page(conn, "api_keys", {"tenant_id": acme["id"], "name": "k1"}, limit=10, after=None)
    assert [r["id"] for r in odd.data] == keys[1::2]
    every = pages.page(conn, "api_keys", {"tenant_id": acme["id"], "name": None}, limit=10, after=None)
    assert [r["id"] for r in every.data] == keys


def test_key_listing_pages_without_hashes(
    conn: sqlite3.Connection, acme: dict[str, Any], globex: dict[str, Any]
) -> None:
    ids = [identity.create_key(conn, acme["id"], ["read"])["id"] for _ in range(5)]
    identity.create_key(conn, globex["id"], ["read"])
    first = identity.key_listing(conn, acme["id"], 3, None)
    second = identity.key_listing(conn, acme["id"], 3, first["next_after"])
    assert first["count"] == 3 and first["has_more"] and first["next_after"] == ids[2]
    assert second["count"] == 2 and not second["has_more"] and second["next_after"] is None
    assert [k["id"] for k in first["data"] + second["data"]] == ids
    assert all("key_hash" not in k for k in first["data"] + second["data"])


def test_a_tenant_page_without_its_tenant_is_refused(conn: sqlite3.Connection) -> None:
    """A None tenant id would drop the filter and page every tenant's rows; it is an error instead."""
    with pytest.raises(ValueError, match="tenant id"):
        pages.page(conn, "datasets", {"tenant_id": None}, limit=10, after=None)
