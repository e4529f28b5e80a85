"""Server-side sessions of the web UI (issue #17).

The browser holds only a random token in an HttpOnly cookie; the row keeps its hash, the CSRF
token the pages echo back on every write, and the times the idle and absolute timeouts are checked
against. Scopes are not copied here: each request reads the user's current ones, so a scope change
or a disabled user takes effect at once, as for bearer tokens.
"""

from __future__ import annotations

import sqlite3


def up(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE ui_sessions (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            token_hash TEXT NOT NULL UNIQUE,
            csrf_token TEXT NOT NULL,
            created_at REAL NOT NULL,
            last_seen_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            revoked_at TEXT
        )
        """
    )
    conn.execute("CREATE INDEX ui_sessions_user ON ui_sessions (user_id)")
