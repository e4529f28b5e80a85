"""Atomic file writes: a reader sees the old file or the whole new one, never a half-written one.

Every file the appliance writes whole (key files, secrets, TLS pairs, generated rows) takes the
same steps here: bytes go to a temp file beside the target (same directory, so the rename is
atomic), are fsynced, and the temp file is renamed over the target; the directory is fsynced after,
so the new name survives a power cut. The blob store renames under its database lock (pins) and
shares only ``fsync_dir``.

Why here, at the top of ``appliance`` beside ``clock.py``: the store (``store/blobs.py``) and the
services both need it, and the store imports nothing above itself, so this module
imports nothing from ``appliance``. The simulators keep their own copy (``simulators/fsutil.py``)
and the verifier its own (``sealforge_verify/files.py``), because neither may import the appliance.
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

    For writers that stream into a temp name of their own (``rows.csv.partial``) and publish at the end.
    """
    with open(temp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(temp, path)
    fsync_dir(path.parent)


def write_atomic(path: Path, data: bytes, mode: int = 0o644, *, exclusive: bool = False) -> bool:
    """Write ``data`` to ``path`` atomically; the file is created with ``mode`` (0o600 for secrets).

    ``exclusive``: the first writer wins. The file is linked into place instead of renamed, so an
    existing ``path`` is kept as it is, and the answer is False (nothing was written); concurrent
    writers then all read the same bytes. Otherwise the answer is True.
    """
    fd, temp = _open_temp(path, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            try:
                os.link(temp, path)
            except FileExistsError:
                return False
            finally:
                temp.unlink()
        else:
            os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return True


def _open_temp(path: Path, mode: int) -> tuple[int, Path]:
    """A new file beside ``path``, created with ``mode`` under a name no other writer uses."""
    while True:
        temp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode), temp
        except FileExistsError:
            continue
