"""Blob reference counts and pins, so a blob's bytes live exactly as long as something needs them.

Blobs are content-addressed and shared: two datasets, or two jobs' artifacts, with the same bytes
point at one file. Deciding "is this blob still used?" by a query outside the transaction that
adds or removes a row raced (an upload rejected at the same moment as an identical accepted one
removed the accepted dataset's bytes). Now:

- ``blob_refs`` counts the rows that point at each blob. Triggers on ``datasets`` and ``artifacts``
  keep the count, so it changes in the same transaction that commits or rolls back the row, for
  every code path. Models need no count of their own: a model's file is always an artifact of its
  ``train`` job.
- ``blob_pins`` holds a blob for a writer between storing its bytes and committing the row that
  will reference them (an upload being parsed, a job's artifacts being recorded). ``owner`` names
  the process, so pins left by a crashed process can be told apart and dropped.

The collector unlinks a blob only under the write lock, after re-checking that it has no
references and no pins.
"""

from __future__ import annotations

import sqlite3

SQL = """
CREATE TABLE blob_refs (
    blake3 TEXT PRIMARY KEY,
    refs INTEGER NOT NULL CHECK (refs >= 0)
);
CREATE TABLE blob_pins (
    id TEXT PRIMARY KEY,
    blake3 TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX blob_pins_blake3 ON blob_pins(blake3);
CREATE INDEX blob_pins_owner ON blob_pins(owner);
INSERT INTO blob_refs (blake3, refs)
    SELECT blake3, COUNT(*) FROM (SELECT blake3 FROM datasets UNION ALL SELECT blake3 FROM artifacts) GROUP BY blake3;
"""

TRIGGERS = """
CREATE TRIGGER {table}_blob_ref_insert AFTER INSERT ON {table} BEGIN
    INSERT INTO blob_refs (blake3, refs) VALUES (NEW.blake3, 1)
        ON CONFLICT (blake3) DO UPDATE SET refs = refs + 1;
END;
CREATE TRIGGER {table}_blob_ref_delete AFTER DELETE ON {table} BEGIN
    UPDATE blob_refs SET refs = refs - 1 WHERE blake3 = OLD.blake3;
END;
CREATE TRIGGER {table}_blob_ref_update AFTER UPDATE OF blake3 ON {table}
    WHEN NEW.blake3 IS NOT OLD.blake3 BEGIN
    UPDATE blob_refs SET refs = refs - 1 WHERE blake3 = OLD.blake3;
    INSERT INTO blob_refs (blake3, refs) VALUES (NEW.blake3, 1)
        ON CONFLICT (blake3) DO UPDATE SET refs = refs + 1;
END;
"""


def up(conn: sqlite3.Connection) -> None:
    for statement in SQL.split(";"):
        if statement.strip():
            conn.execute(statement)
    for table in ("datasets", "artifacts"):
        for trigger in TRIGGERS.format(table=table).split("END;"):
            if trigger.strip():
                conn.execute(trigger + "END;")
