"""Atomic file writes: a reader sees the old file or the whole new one, never a half-written one.

Bytes go to a temp file beside the target (same directory, so the rename is atomic), are fsynced,
and the temp file is renamed over the target; the directory is fsynced after. Datasets, live
telemetry, OPC UA certificates and trust-list entries are all written this way.

The simulators need nothing from ``appliance`` (DESIGN.md), so they keep this one helper of their
own; the appliance has the same in ``appliance/fsutil.py``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries, so a rename or a new file in it survives a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(temp: Path, path: Path) -> None:
    """Make a finished, closed ``temp`` file the real ``path``: fsync it, rename it, fsync the folder.

    For writers that stream into a temp name of their own (``<path>.part``) and publish at the end.
    """
    with open(temp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(temp, path)
    fsync_dir(path.parent)


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically; the file is created with ``mode`` (0o600 for a private key)."""
    while True:
        temp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
