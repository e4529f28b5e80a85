"""Numbered schema migrations, applied in order and tracked with ``PRAGMA user_version``.

Each migration is a module ``mNNNN_<name>.py`` with an ``up(conn)`` function; it runs inside one
transaction, so a failed migration leaves the database at the previous version. ``store.open``
runs ``migrate`` under a file lock so that processes starting together migrate once.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import sqlite3
from collections.abc import Callable
from types import ModuleType

from appliance.store.db import transaction


@functools.cache
def _modules() -> tuple[tuple[int, ModuleType], ...]:
    """The migration modules in order, found once per process: the package's files do not change
    under a running process, and a directory walk per open (every API worker, every health check's
    `latest_version`) would be paid for nothing."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("m") and info.name[1:5].isdigit():
            found.append((int(info.name[1:5]), importlib.import_module(f"{__name__}.{info.name}")))
    found.sort(key=lambda pair: pair[0])
    numbers = [n for n, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {numbers}")
    return tuple(found)


def latest_version() -> int:
    return len(_modules())


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to the latest version; return the version reached.

    The version is read again once the write lock is held, so a process that lost a race to
    another migrating the same file skips what that one applied instead of re-running it. A
    database already at the latest version costs one ``PRAGMA user_version`` read.
    """
    version = _user_version(conn)
    if version >= latest_version():
        return version
    for number, module in _modules():
        if number <= version:
            continue
        up: Callable[[sqlite3.Connection], None] = module.up
        with transaction(conn):
            version = _user_version(conn)
            if number <= version:
                continue
            up(conn)
            conn.execute(f"PRAGMA user_version = {number}")
        version = number
    return version
