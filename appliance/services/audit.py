"""The audit log: every write and every denial, each entry hash-chained to the one before.

An entry's hash is BLAKE3 over the canonical JSON of its fields plus the previous entry's hash, so
editing, deleting or reordering any row breaks every hash after it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import blake3
from sealforge_verify.canonical import canonical_json

from appliance.store import audit as audit_store
from appliance.store.db import transaction

GENESIS = "0" * 64


def entry_hash(fields: dict[str, Any], prev_hash: str) -> str:
    material = {k: fields[k] for k in audit_store.AUDIT_COLUMNS} | {"prev_hash": prev_hash}
    return blake3.blake3(canonical_json(material)).hexdigest()


def record(conn: sqlite3.Connection, fields: dict[str, Any]) -> str:
    """Append one entry; returns its hash. The read of the last hash and the insert share a lock."""
    with transaction(conn):
        prev = audit_store.last_hash(conn) or GENESIS
        digest = entry_hash(fields, prev)
        audit_store.insert_entry(conn, {**fields, "prev_hash": prev, "entry_hash": digest})
    return digest


@dataclass
class ChainReport:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "first_bad_seq": self.first_bad_seq, "reason": self.reason}


def verify_chain(conn: sqlite3.Connection) -> ChainReport:
    prev = GENESIS
    count = 0
    last_seq = 0
    for row in audit_store.iter_entries(conn):
        count += 1
        if row["seq"] != last_seq + 1:
            return ChainReport(False, count, row["seq"], f"entries missing before seq {row['seq']}")
        if row["prev_hash"] != prev:
            return ChainReport(False, count, row["seq"], "prev_hash does not match the entry before")
        if entry_hash(row, prev) != row["entry_hash"]:
            return ChainReport(False, count, row["seq"], "entry was altered: its hash does not match its fields")
        prev = row["entry_hash"]
        last_seq = row["seq"]
    return ChainReport(True, count)


SEARCH_MAX = 200


def search(
    conn: sqlite3.Connection, tenant_id: str, text: str = "", status: int | None = None,
    before: int | None = None, limit: int = 50,
) -> dict[str, Any]:
    """One page of the tenant's audit entries, newest first, filtered by a piece of text (path,
    caller, method or correlation id) and a status; ``next_before`` continues the page."""
    rows = audit_store.search(conn, tenant_id, text, status, before, min(limit, SEARCH_MAX) + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"data": rows, "has_more": more, "next_before": rows[-1]["seq"] if more and rows else None}
