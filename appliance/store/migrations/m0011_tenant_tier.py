"""A tier on every tenant: `free` tenants' jobs run on the `free` queue (lower priority), the
others' on the queue their kind and size choose (issue #15, queue routing as the published pages
describe it). Existing tenants become `standard`; `sealforge admin tenants set-tier` changes it."""

from __future__ import annotations

import sqlite3

TIERS = ("free", "standard")


def up(conn: sqlite3.Connection) -> None:
    conn.execute(
        "ALTER TABLE tenants ADD COLUMN tier TEXT NOT NULL DEFAULT 'standard' CHECK (tier IN ('free', 'standard'))"
    )
