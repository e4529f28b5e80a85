"""BLAKE3 and SHA-256 digests of artifacts, streamed so that size never matters.

Why: artifacts can be gigabytes. Files on disk, and members inside a bundle tar on disk, are
memory-mapped and hashed on all cores (``max_threads=AUTO``); other streams are read in large
chunks into one reused buffer. No path reads the whole artifact into process memory. SHA-256 (what
standard in-toto consumers match subjects by) is single-threaded by nature and read in chunks.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from typing import BinaryIO

import blake3

__all__ = ["CHUNK_SIZE", "blake3_file", "blake3_range", "blake3_stream", "sha256_file", "sha256_range", "sha256_stream"]

CHUNK_SIZE = 8 * 1024 * 1024
_MMAP_MIN = 1024 * 1024
_FIRST_READ = 64 * 1024


def _new() -> blake3.blake3:
    return blake3.blake3(max_threads=blake3.blake3.AUTO)


def blake3_file(path: str | os.PathLike[str]) -> str:
    """Hex BLAKE3 digest of a file on disk."""
    if os.path.getsize(path) >= _MMAP_MIN:
        h = _new()
        h.update_mmap(os.fspath(path))
        return h.hexdigest()
    with open(path, "rb") as fh:
        return blake3_stream(fh)


def blake3_stream(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> str:
    """Hex BLAKE3 digest of everything left in ``stream``, read ``chunk_size`` bytes at a time.

    The buffer starts at ``_FIRST_READ`` and grows to ``chunk_size`` only once a read fills it:
    zeroing a fresh 8 MiB buffer costs more than hashing a small artifact (or a bundle member)."""
    h = _new()
    buf = bytearray(min(chunk_size, _FIRST_READ))
    view = memoryview(buf)
    readinto = getattr(stream, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(view)
            if not n:
                break
            h.update(view[:n])
            if n == len(buf) < chunk_size:
                buf = bytearray(chunk_size)
                view = memoryview(buf)
        else:
            data = stream.read(chunk_size)
            if not data:
                break
            h.update(data)
    return h.hexdigest()


def blake3_range(fileno: int, offset: int, size: int) -> str:
    """Hex BLAKE3 digest of ``size`` bytes at ``offset`` of an open file, through a memory map."""
    h = _new()
    if size:
        with mmap.mmap(fileno, 0, access=mmap.ACCESS_READ) as mapped, memoryview(mapped) as view:
            if offset + size > len(view):
                raise ValueError("range runs past the end of the file")
            with view[offset : offset + size] as part:
                h.update(part)
    return h.hexdigest()


def sha256_stream(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> str:
    """Hex SHA-256 of everything left in ``stream``, read ``chunk_size`` bytes at a time."""
    h = hashlib.sha256()
    while True:
        data = stream.read(chunk_size)
        if not data:
            break
        h.update(data)
    return h.hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file on disk."""
    with open(path, "rb") as fh:
        return sha256_stream(fh)


def sha256_range(fileno: int, offset: int, size: int) -> str:
    """Hex SHA-256 of ``size`` bytes at ``offset`` of an open file, read with ``os.pread``."""
    h = hashlib.sha256()
    end = offset + size
    while offset < end:
        data = os.pread(fileno, min(CHUNK_SIZE, end - offset), offset)
        if not data:
            raise ValueError("range runs past the end of the file")
        h.update(data)
        offset += len(data)
    return h.hexdigest()
