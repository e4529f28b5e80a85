"""Open the appliance database for a state dir, migrating it once per process."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from appliance.store.db import connection, db_path
from appliance.store.migrations import migrate

_migrated: set[str] = set()
_lock = threading.Lock()


def open_db(state_dir: Path) -> sqlite3.Connection:
    """The calling thread's connection to the state dir's database, schema up to date."""
    path = db_path(state_dir)
    conn = connection(path)
    key = str(path)
    if key not in _migrated:
        with _lock:
            if key not in _migrated:
                migrate(conn)
                _migrated.add(key)
    return conn
