"""Token buckets for each tenant and route, shared by every API process through one mapped file.

The API runs as several gunicorn processes, so buckets cannot live in one process's memory. They
live in ``ratelimit.buckets`` in the state dir: a fixed table of slots that every API process maps
with ``mmap(MAP_SHARED)``, so they all read and write the same bytes. Each spend (read the slot,
refill, take a token, write the slot back) runs under an exclusive ``flock`` on that file plus a
thread lock (``flock`` is held per open file, so threads of one process also need the thread lock),
exactly the lock every spend took before; only what happens inside it changed. No two processes
can ever see the same token, and the arithmetic is the one the SQLite version had.

Why not SQLite any more (docs/decisions.md, rate-limit buckets): under load the SQLite spend was
the most expensive step of a request, not for its arithmetic but for its system calls (WAL append,
shared-memory locks, about ten per spend) made while every other request thread waited on the same
lock. The mapped table's spend is a few memory reads and writes between two ``flock`` calls.

Table: ``SLOTS`` slots of (16-byte BLAKE2b of the bucket name, tokens, updated, full_at), probed
linearly from the name's hash for at most ``PROBES`` slots. A slot whose bucket has refilled to its
burst (``full_at`` passed) is exactly as good as an absent one, so it is reused; if every probed
slot holds a bucket still refilling (tens of thousands of live buckets), the one nearest to full is
overwritten, which can only refill that one bucket a little early. Like ``synchronous=OFF`` before,
a power cut may lose recent spends (some tokens come back early); values read back are clamped to
``[0, burst]`` so a torn slot cannot deny anyone for long. A file of another layout is reset, since
the buckets are throw-away counters, not data.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import mmap
import os
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path

RATELIMIT_FILE = "ratelimit.buckets"
MAGIC = b"SFRLBK01"
HEADER_BYTES = 64
SLOTS = 65_536
PROBES = 32
_SLOT = struct.Struct("<16sddd")  # bucket digest, tokens, updated (epoch s), full_at (epoch s)
FILE_BYTES = HEADER_BYTES + SLOTS * _SLOT.size
_EMPTY = bytes(16)


@dataclass(frozen=True)
class Decision:
    """One spend: whether it was allowed, whole tokens left, seconds until the next token
    (``retry_after``, 0 when allowed) and seconds until the bucket is full again (``reset_after``,
    the "reset hint" of a 429: after it the whole burst is available)."""

    allowed: bool
    remaining: int
    retry_after: int
    reset_after: int = 0


@dataclass
class _Table:
    fd: int
    mapped: mmap.mmap
    lock: threading.Lock


_tables: dict[str, _Table] = {}
_tables_guard = threading.Lock()


def _forget_after_fork() -> None:
    """A forked child must open its own file: a ``flock`` on an inherited descriptor is shared with
    the parent, so it would not keep the two apart."""
    _tables.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def _open_table(state_dir: Path) -> _Table:
    fd = os.open(state_dir / RATELIMIT_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.fstat(fd).st_size != FILE_BYTES or os.pread(fd, len(MAGIC), 0) != MAGIC:
                os.ftruncate(fd, 0)  # another layout, or a half-made file: start from empty buckets
                os.ftruncate(fd, FILE_BYTES)
                os.pwrite(fd, MAGIC, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        mapped = mmap.mmap(fd, FILE_BYTES, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    except BaseException:
        os.close(fd)
        raise
    return _Table(fd, mapped, threading.Lock())


def _table(state_dir: Path) -> _Table:
    key = str(state_dir)
    table = _tables.get(key)
    if table is None:
        with _tables_guard:
            table = _tables.get(key)
            if table is None:
                table = _tables[key] = _open_table(state_dir)
    return table


def _digest(bucket: str) -> bytes:
    digest = hashlib.blake2b(bucket.encode(), digest_size=16).digest()
    return digest if digest != _EMPTY else b"\x01" + digest[1:]  # all zeros marks a never-used slot


def take(state_dir: Path, bucket: str, rate_per_s: float, burst: int, now: float | None = None) -> Decision:
    """Spend one token from ``bucket`` if there is one."""
    now = time.time() if now is None else now
    table = _table(state_dir)
    digest = _digest(bucket)
    with table.lock:
        fcntl.flock(table.fd, fcntl.LOCK_EX)
        try:
            tokens, allowed = _spend(table.mapped, digest, rate_per_s, float(burst), now)
        finally:
            fcntl.flock(table.fd, fcntl.LOCK_UN)
    retry_after = 0 if allowed else max(1, math.ceil((1.0 - tokens) / rate_per_s))
    reset_after = math.ceil(max(0.0, burst - tokens) / rate_per_s) if rate_per_s > 0 else 0
    return Decision(allowed, int(tokens), retry_after, max(reset_after, retry_after))


def _spend(mapped: mmap.mmap, digest: bytes, rate_per_s: float, burst: float, now: float) -> tuple[float, bool]:
    """The token-bucket step on the slot of ``digest``; the caller holds the locks."""
    start = int.from_bytes(digest[:8], "little") % SLOTS
    found: int | None = None
    reusable: int | None = None
    nearest_full, nearest_full_at = HEADER_BYTES + start * _SLOT.size, math.inf
    for probe in range(PROBES):
        offset = HEADER_BYTES + ((start + probe) % SLOTS) * _SLOT.size
        slot_digest, tokens, updated, full_at = _SLOT.unpack_from(mapped, offset)
        if slot_digest == digest:
            found = offset
            break
        if slot_digest == _EMPTY:  # slots are never emptied again, so the bucket is not further on
            reusable = offset if reusable is None else reusable
            break
        if reusable is None and full_at <= now:
            reusable = offset
        if full_at < nearest_full_at:
            nearest_full, nearest_full_at = offset, full_at
    if found is not None:
        level = max(0.0, min(burst, tokens + max(0.0, now - updated) * rate_per_s))
        offset = found
    else:
        level = burst
        offset = reusable if reusable is not None else nearest_full
    allowed = level >= 1.0
    if allowed:
        level -= 1.0
    full_at = now + (burst - level) / rate_per_s if rate_per_s > 0 else math.inf
    _SLOT.pack_into(mapped, offset, digest, level, now, full_at)
    return level, allowed


def release(state_dir: Path) -> None:
    """Unmap and close this process's bucket table for ``state_dir``."""
    with _tables_guard:
        table = _tables.pop(str(state_dir), None)
    if table is not None:
        with table.lock:
            table.mapped.close()
            os.close(table.fd)
