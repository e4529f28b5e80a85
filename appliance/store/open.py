"""Open the appliance database for a state dir: private modes, schema migrated exactly once.

Why this shape:

- The state dir holds password, key and token hashes, signing keys and the plants' uploads, so it
  is mode 0700 and everything in it is private (directories 0700, files 0600) whatever the umask
  of whoever started the process. The CLI sets the umask to ``STATE_UMASK`` for every process it
  starts; the database files are also created 0600 up front (SQLite gives its ``-wal``/``-shm``
  the database file's mode). State dirs written by an earlier version (0755 dir, 0644 files) are
  fixed once, by a full walk, the first time a process of this version prepares them; the marker
  file ``.modes-private`` records that the walk finished.
- Several processes may start at once on an empty state dir (``sealforge serve``'s children, an
  admin command, systemd units). Migrations and the mode fix-up run under an exclusive ``flock`` on
  ``.migrate.lock``, so exactly one process migrates and the others find the schema current; no
  process touches the database before its own ``prepare_state_dir`` returned.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import stat
import threading
from pathlib import Path

from appliance.store.db import ConnectionPool, connection, db_path, open_connection
from appliance.store.migrations import migrate

STATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600
LOCK_FILENAME = ".migrate.lock"
MODES_MARKER = ".modes-private"

log = logging.getLogger("sealforge.store")

_prepared: set[str] = set()
_lock = threading.Lock()


def restrict_umask() -> None:
    """Make every file and directory this process creates private (0600 / 0700)."""
    os.umask(STATE_UMASK)


def _private_mode(mode: int) -> int:
    """The mode with every group and other bit cleared (0755 -> 0700, 0644 -> 0600)."""
    return stat.S_IMODE(mode) & ~0o077


def _fix_entry(path: str, mode: int, failed: list[str]) -> None:
    wanted = _private_mode(mode)
    if wanted == stat.S_IMODE(mode):
        return
    try:
        os.chmod(path, wanted)
    except FileNotFoundError:
        pass  # removed meanwhile (a finished job's work dir): nothing left to protect
    except PermissionError:
        failed.append(path)


def _fix_modes(state_dir: Path, *, recursive: bool) -> list[str]:
    """Clear group/other bits on the state dir's directories and regular files; symlinks and
    special files are left alone. Returns the paths that could not be changed (not ours)."""
    failed: list[str] = []
    pending = [str(state_dir)]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except PermissionError:
            failed.append(folder)
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(info.st_mode):
                _fix_entry(entry.path, info.st_mode, failed)
                if recursive:
                    pending.append(entry.path)
            elif stat.S_ISREG(info.st_mode):
                _fix_entry(entry.path, info.st_mode, failed)
    return failed


def _make_private_dir(state_dir: Path) -> None:
    state_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    mode = state_dir.stat().st_mode
    if stat.S_IMODE(mode) != DIR_MODE:
        try:
            os.chmod(state_dir, DIR_MODE)
        except PermissionError:
            log.warning("state dir %s is mode %o and not ours to make 0700", state_dir, stat.S_IMODE(mode))


def prepare_state_dir(state_dir: Path) -> int:
    """Make the state dir private and its schema current; safe to call from many processes at once.

    Returns the schema version reached. Holds the migration lock for the whole call, so a process
    that returns from here sees a fully migrated database.
    """
    _make_private_dir(state_dir)
    fd = os.open(state_dir / LOCK_FILENAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        marker = state_dir / MODES_MARKER
        upgrade = not marker.exists()
        failed = _fix_modes(state_dir, recursive=upgrade)
        if failed:
            log.warning("could not make private (owned by another user?): %s", ", ".join(sorted(failed)))
        elif upgrade:
            os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE))
        conn = open_connection(db_path(state_dir))
        try:
            return migrate(conn)
        finally:
            conn.close()
    finally:
        os.close(fd)  # releases the flock


def open_db(state_dir: Path) -> sqlite3.Connection:
    """The calling thread's connection to the state dir's database, schema up to date."""
    path = db_path(state_dir)
    key = str(path)
    if key not in _prepared:
        with _lock:
            if key not in _prepared:
                prepare_state_dir(state_dir)
                _prepared.add(key)
    return connection(path)


def open_pool(state_dir: Path) -> ConnectionPool:
    """A pool of connections to the state dir's database, for a server's requests (schema up to date)."""
    open_db(state_dir)
    return ConnectionPool(db_path(state_dir))
