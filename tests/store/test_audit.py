"""`appliance.store.audit` and the chain it stores: each entry links to the one before, and any edit,
deletion or reordering of a stored row is found by `verify_chain`."""

from __future__ import annotations

import itertools
import sqlite3
from typing import Any

from appliance.services import audit
from appliance.store import audit as audit_store


def _fields(i: int, tenant_id: str | None = "ten_A") -> dict[str, Any]:
    return {
        "at": f"2025-01-01T00:00:{i:02d}Z",
        "tenant_id": tenant_id,
        "caller": "key_1",
        "scope": "admin",
        "method": "POST",
        "path": f"/v1/things/{i}",
        "status": 201,
        "body_blake3": "d" * 64,
        "correlation_id": f"c{i}",
    }


def _record(conn: sqlite3.Connection, n: int) -> list[str]:
    return [audit.record(conn, _fields(i)) for i in range(n)]


def test_empty_log_verifies(conn: sqlite3.Connection) -> None:
    assert audit_store.last_hash(conn) is None
    assert audit.verify_chain(conn).as_dict() == {"ok": True, "entries": 0, "first_bad_seq": None, "reason": ""}


def test_each_entry_links_to_the_previous_one(conn: sqlite3.Connection) -> None:
    hashes = _record(conn, 6)
    rows = list(audit_store.iter_entries(conn))
    assert [r["seq"] for r in rows] == list(range(1, 7))
    assert rows[0]["prev_hash"] == audit.GENESIS
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["entry_hash"]
    assert [r["entry_hash"] for r in rows] == hashes
    assert audit_store.last_hash(conn) == hashes[-1]
    for row in rows:
        assert audit.entry_hash(row, row["prev_hash"]) == row["entry_hash"]
    report = audit.verify_chain(conn)
    assert report.ok and report.entries == 6


def test_iter_entries_crosses_batches_in_order(conn: sqlite3.Connection) -> None:
    _record(conn, 7)
    assert [r["seq"] for r in audit_store.iter_entries(conn, batch=2)] == list(range(1, 8))


def test_same_fields_give_different_hashes_at_different_places(conn: sqlite3.Connection) -> None:
    first = audit.record(conn, _fields(1))
    second = audit.record(conn, _fields(1))
    assert first != second


def test_an_edited_field_is_found(conn: sqlite3.Connection) -> None:
    _record(conn, 5)
    conn.execute("UPDATE audit_log SET status = 200 WHERE seq = 3")  # faking tampering
    report = audit.verify_chain(conn)
    assert not report.ok and report.first_bad_seq == 3 and "altered" in report.reason


def test_a_rehashed_edit_breaks_the_next_link(conn: sqlite3.Connection) -> None:
    """An attacker who recomputes the edited row's own hash still breaks the entry after it."""
    _record(conn, 5)
    row = next(r for r in audit_store.iter_entries(conn) if r["seq"] == 3)
    row["path"] = "/v1/elsewhere"
    conn.execute(
        "UPDATE audit_log SET path = ?, entry_hash = ? WHERE seq = 3",
        (row["path"], audit.entry_hash(row, row["prev_hash"])),
    )
    report = audit.verify_chain(conn)
    assert not report.ok and report.first_bad_seq == 4 and "prev_hash" in report.reason


def test_a_deleted_entry_is_found(conn: sqlite3.Connection) -> None:
    _record(conn, 5)
    conn.execute("DELETE FROM audit_log WHERE seq = 2")
    report = audit.verify_chain(conn)
    assert not report.ok and report.first_bad_seq == 3 and "missing" in report.reason


def test_a_deleted_first_entry_is_found(conn: sqlite3.Connection) -> None:
    _record(conn, 3)
    conn.execute("DELETE FROM audit_log WHERE seq = 1")
    report = audit.verify_chain(conn)
    assert not report.ok and report.first_bad_seq == 2


def test_a_changed_link_is_found(conn: sqlite3.Connection) -> None:
    _record(conn, 4)
    conn.execute("UPDATE audit_log SET prev_hash = ? WHERE seq = 2", (audit.GENESIS,))
    report = audit.verify_chain(conn)
    assert not report.ok and report.first_bad_seq == 2


def test_recording_continues_the_chain_after_reopening(conn: sqlite3.Connection) -> None:
    _record(conn, 2)
    last = audit_store.last_hash(conn)
    audit.record(conn, _fields(9, tenant_id=None))
    rows = list(audit_store.iter_entries(conn))
    assert rows[-1]["prev_hash"] == last and rows[-1]["tenant_id"] is None
    assert audit.verify_chain(conn).ok
