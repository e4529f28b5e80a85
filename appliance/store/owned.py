"""Telling what a live process owns in the state dir from what a crashed one left behind.

A temp file or a work dir is *owned* while its process holds an exclusive ``flock`` on it. The
kernel drops that lock when the process ends, kill -9 included, so start-up cleanup removes only
entries it can lock itself and never takes a file from under a live writer, whatever its age.
Rows that stand for a process (blob pins) carry a token of host, pid and the pid's start time,
so a recycled pid does not look like the process that died.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import tempfile
import uuid
from pathlib import Path


class Ownership:
    """An exclusive lock on one path, held until ``release``."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _same_entry(path: Path, fd: int) -> bool:
    try:
        entry = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (entry.st_dev, entry.st_ino) == (held.st_dev, held.st_ino) and held.st_nlink > 0


def create_owned_file(directory: Path, prefix: str) -> tuple[int, Path]:
    """A new temp file in ``directory``, opened for writing and locked by this process.

    The lock is taken after the file exists; if a cleaner removed it in between, a fresh one is made.
    """
    directory.mkdir(parents=True, exist_ok=True)
    while True:
        fd, name = tempfile.mkstemp(dir=directory, prefix=f"{prefix}{os.getpid()}-")
        fcntl.flock(fd, fcntl.LOCK_EX)
        if _same_entry(Path(name), fd):
            return fd, Path(name)
        os.close(fd)


def link_owned_file(directory: Path, prefix: str, source: Path) -> tuple[int, Path]:
    """A new name in ``directory`` for the finished file ``source`` (a hard link: no copy), opened
    read-only and locked by this process like `create_owned_file`'s files, so start-up cleanup
    leaves it alone. Raises OSError (EXDEV) when ``source`` lies on another filesystem."""
    directory.mkdir(parents=True, exist_ok=True)
    while True:
        name = directory / f"{prefix}{os.getpid()}-{uuid.uuid4().hex}"
        os.link(source, name)
        fd = os.open(name, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if _same_entry(name, fd):
            return fd, name
        os.close(fd)


def own_dir(path: Path) -> Ownership:
    """Create ``path`` (if needed) and hold it; the caller releases it after removing it."""
    while True:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if _same_entry(path, fd):
            return Ownership(path, fd)
        os.close(fd)


def remove_if_unowned(path: Path) -> bool:
    """Remove a file or dir that no live process holds; False when it is held (or already gone).

    The lock is held while removing, so an owner that locks after us sees its entry gone and retries.
    """
    if path.is_symlink():
        return False
    flags = os.O_RDONLY | os.O_NOFOLLOW | (os.O_DIRECTORY if path.is_dir() else 0)
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        if not _same_entry(path, fd):
            return False
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot; None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def _has_proc() -> bool:
    return Path("/proc/self/stat").exists()


def process_token() -> str:
    """``host:pid:start`` of this process."""
    pid = os.getpid()
    start = _start_ticks(pid) if _has_proc() else 0
    return f"{socket.gethostname()}:{pid}:{start}"


def token_alive(token: str) -> bool:
    """Whether the process a token names still runs. Another host's process counts as alive:
    nothing here can tell, and keeping a pin only delays reclaiming space."""
    try:
        host, pid_text, start = token.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True
    if not _has_proc():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    ticks = _start_ticks(pid)
    return ticks is not None and str(ticks) == start
