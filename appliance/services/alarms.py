"""Alarms of live runs, one set of functions for the API, the pages and the run's worker.

The worker records each raise and clear of a plant's alarm tags (boolean `status` tags); operators
acknowledge an alarm (with a note) and shelve one for a while. An alarm stays on the active list
until it has both cleared and been acknowledged (ISA-18.2's "returned to normal, unacknowledged"
stays visible), ordered by priority: interlock trips and high-high/low-low first, then high/low.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from appliance import errors
from appliance.clock import iso, now_iso
from appliance.errors import AppError
from appliance.ids import new_id
from appliance.store import scada_alarms as scada_alarms_store
from appliance.store.db import transaction

PRIORITIES = {1: "urgent", 2: "high", 3: "low"}
NOTE_MAX = 500
SHELVE_MAX_MIN = 8 * 60
ACTIVE_SHOWN = 200
CSV_MAX = 10_000
CSV_COLUMNS = (
    "id",
    "run_id",
    "tag",
    "description",
    "priority",
    "raised_at",
    "cleared_at",
    "acked_at",
    "acked_by",
    "ack_note",
    "shelved_until",
    "shelved_by",
    "shelve_note",
    "active_attacks",
)


def priority(tag: str) -> int:
    """1 for a trip or a high-high/low-low limit, 2 for a high/low alarm, 3 for anything else."""
    suffix = tag.rsplit(".", 1)[-1].upper()
    if suffix in ("TRIP", "HH", "LL"):
        return 1
    if suffix in ("HI", "LO"):
        return 2
    return 3


def record(conn: sqlite3.Connection, tenant_id: str, run_id: str, changes: Iterable[dict[str, Any]]) -> None:
    """The worker's part: each change of an alarm tag, as ``_Alarms`` in the live kind sees it.
    Called inside the transaction that publishes the sample, so the list and the values agree."""
    for change in changes:
        at = change.get("at") or now_iso()
        if change["state"] == "raised":
            scada_alarms_store.raise_alarm(
                conn,
                {
                    "id": new_id("alm"),
                    "run_id": run_id,
                    "tenant_id": tenant_id,
                    "tag": change["tag"],
                    "description": change["description"],
                    "priority": priority(change["tag"]),
                    "raised_at": at,
                    "scan": change.get("scan"),
                    "active_attacks": json.dumps(change.get("active_attacks") or []),
                },
            )
        else:
            scada_alarms_store.clear_alarm(conn, run_id, change["tag"], at)


def end_run(conn: sqlite3.Connection, run_id: str) -> None:
    with transaction(conn):
        scada_alarms_store.clear_run(conn, run_id, now_iso())


def view(row: dict[str, Any], now: str | None = None) -> dict[str, Any]:
    current = now or now_iso()
    shelved = row["shelved_until"] is not None and row["shelved_until"] > current
    if row["cleared_at"] is None:
        state = "active_acked" if row["acked_at"] else "active"
    else:
        state = "cleared" if row["acked_at"] else "cleared_unacked"
    return {
        "id": row["id"],
        "run_id": row["run_id"],
        "tag": row["tag"],
        "description": row["description"],
        "priority": row["priority"],
        "priority_name": PRIORITIES.get(row["priority"], "low"),
        "state": state,
        "shelved": shelved,
        "raised_at": row["raised_at"],
        "scan": row["scan"],
        "cleared_at": row["cleared_at"],
        "acked_at": row["acked_at"],
        "acked_by": row["acked_by"],
        "ack_note": row["ack_note"],
        "shelved_until": row["shelved_until"],
        "shelved_by": row["shelved_by"],
        "shelve_note": row["shelve_note"],
        "active_attacks": json.loads(row["active_attacks"] or "[]"),
        "_links": {
            "run": f"/v1/scada/runs/{row['run_id']}",
            "ack": f"/v1/scada/alarms/{row['id']}/ack",
            "shelve": f"/v1/scada/alarms/{row['id']}/shelve",
        },
    }


def active(conn: sqlite3.Connection, tenant_id: str, run_id: str | None = None) -> dict[str, Any]:
    """Alarms to act on, by priority; shelved ones apart (they are still listed, marked shelved)."""
    now = now_iso()
    rows = [view(row, now) for row in scada_alarms_store.active(conn, tenant_id, run_id, ACTIVE_SHOWN)]
    shown = [a for a in rows if not a["shelved"]]
    return {"data": shown, "count": len(shown), "shelved": [a for a in rows if a["shelved"]]}


def active_counts(conn: sqlite3.Connection, tenant_id: str) -> dict[str, int]:
    """How many alarms each of the tenant's runs has on its active list (the overview shows it)."""
    return scada_alarms_store.active_counts(conn, tenant_id)


def _check_filters(filters: dict[str, Any]) -> None:
    p = filters.get("priority")
    if p is not None and p not in PRIORITIES:
        raise errors.validation("priority", "1 (urgent), 2 (high) or 3 (low)")
    for name in ("since", "until"):
        value = filters.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > 40):
            raise errors.validation(name, "an RFC 3339 time")


def history(
    conn: sqlite3.Connection, tenant_id: str, filters: dict[str, Any], limit: int, after: str | None
) -> dict[str, Any]:
    """Every alarm, newest first, filtered by run, tag, priority and time raised."""
    _check_filters(filters)
    since, until = filters.get("since"), filters.get("until")
    rows = scada_alarms_store.history(conn, tenant_id, filters, since, until, limit, after)
    page = rows[:limit]
    has_more = len(rows) > limit
    now = now_iso()
    return {
        "data": [view(row, now) for row in page],
        "count": len(page),
        "has_more": has_more,
        "next_after": page[-1]["id"] if has_more and page else None,
    }


def history_csv(conn: sqlite3.Connection, tenant_id: str, filters: dict[str, Any]) -> str:
    """The filtered history as CSV (at most ``CSV_MAX`` rows, newest first)."""
    _check_filters(filters)
    since, until = filters.get("since"), filters.get("until")
    rows = scada_alarms_store.history(conn, tenant_id, filters, since, until, CSV_MAX, None)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows[:CSV_MAX]:
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return out.getvalue()


def _note(note: Any) -> str:
    if note is None:
        return ""
    if not isinstance(note, str) or len(note) > NOTE_MAX:
        raise errors.validation("note", f"text of at most {NOTE_MAX} characters")
    return note.strip()


def _require(conn: sqlite3.Connection, tenant_id: str, alarm_id: str) -> dict[str, Any]:
    well_formed = isinstance(alarm_id, str) and len(alarm_id) <= 64
    row = scada_alarms_store.get_alarm(conn, tenant_id, alarm_id) if well_formed else None
    if row is None:
        raise errors.not_found("alarm", str(alarm_id)[:64])
    return row


def ack(conn: sqlite3.Connection, tenant_id: str, alarm_id: str, caller: str, note: Any) -> dict[str, Any]:
    """Acknowledge: the operator has seen it. Acknowledging twice is a 409 (the first note stays)."""
    text = _note(note)
    with transaction(conn):
        row = _require(conn, tenant_id, alarm_id)
        if row["acked_at"] is not None:
            raise AppError(errors.CONFLICT, f"alarm {alarm_id} was acknowledged at {row['acked_at']}")
        scada_alarms_store.ack(conn, alarm_id, now_iso(), caller, text)
    return view(_require(conn, tenant_id, alarm_id))


def shelve(
    conn: sqlite3.Connection, tenant_id: str, alarm_id: str, caller: str, minutes: Any, note: Any
) -> dict[str, Any]:
    """Take an alarm off the active list until ``minutes`` from now (at most eight hours); 0 unshelves."""
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not 0 <= minutes <= SHELVE_MAX_MIN:
        raise errors.validation("minutes", f"a number of minutes from 0 to {SHELVE_MAX_MIN}")
    text = _note(note)
    with transaction(conn):
        _require(conn, tenant_id, alarm_id)
        scada_alarms_store.shelve(conn, alarm_id, iso(time.time() + float(minutes) * 60), caller, text)
    return view(_require(conn, tenant_id, alarm_id))
