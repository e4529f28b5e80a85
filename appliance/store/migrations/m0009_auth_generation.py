"""A counter that moves whenever anything an API key authenticates with changes.

The API caches a key's lookup in each worker process for a few seconds (``[auth] key_cache_s``);
every request reads this one row first and drops the cache when it moved, so a revocation, a scope
change or a key moved or deleted takes effect on the very next request in every process. Triggers,
not the services, bump it: any writer of ``api_keys`` (the API, the admin CLI, a future service,
an operator's hand-written UPDATE) invalidates the caches without having to remember to.
"""

from __future__ import annotations

import sqlite3


def up(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE auth_generation (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)")
    conn.execute("INSERT INTO auth_generation (id, n) VALUES (1, 0)")
    bump = "BEGIN UPDATE auth_generation SET n = n + 1 WHERE id = 1; END"
    conn.execute(f"CREATE TRIGGER api_keys_update_auth AFTER UPDATE ON api_keys {bump}")
    conn.execute(f"CREATE TRIGGER api_keys_delete_auth AFTER DELETE ON api_keys {bump}")
    conn.execute(f"CREATE TRIGGER tenants_delete_auth AFTER DELETE ON tenants {bump}")
