"""Content-addressed blobs under ``blobs/ab/cdef…``, named by their BLAKE3 hash.

Every write goes to a temp file in ``blobs/tmp``, is fsynced, then renamed into place, so a crash
never leaves a half file under a real name; the same content is stored once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import blake3

CHUNK = 1 << 20


class BlobStore:
    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "blobs"
        self.tmp = self.root / "tmp"

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a BLAKE3 hex digest: {digest!r}")
        return self.root / digest[:2] / digest[2:]

    def exists(self, digest: str) -> bool:
        return self.path(digest).exists()

    def _temp(self) -> tuple[int, Path]:
        self.tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="blob-")
        return fd, Path(name)

    def _commit(self, temp: Path, digest: str) -> Path:
        final = self.path(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            temp.unlink()
        else:
            os.replace(temp, final)
            _fsync_dir(final.parent)
        return final

    def write_chunks(self, chunks: Iterable[bytes], max_bytes: int | None = None) -> tuple[str, int]:
        """Stream ``chunks`` into a blob, hashing on the way; memory stays flat.

        Raises ``BlobTooLarge`` (and keeps nothing) once more than ``max_bytes`` arrive.
        """
        fd, temp = self._temp()
        hasher = blake3.blake3()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise BlobTooLarge(max_bytes)
                    hasher.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        digest = hasher.hexdigest()
        self._commit(temp, digest)
        return digest, size

    def write_file(self, source: Path) -> tuple[str, int]:
        """Copy a finished file into the store (a job's output)."""
        with source.open("rb") as fh:
            return self.write_chunks(iter(lambda: fh.read(CHUNK), b""))

    def open(self, digest: str) -> BinaryIO:
        return self.path(digest).open("rb")

    def rehash(self, digest: str) -> str:
        """The BLAKE3 of what is stored now, to detect corruption."""
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        hasher.update_mmap(self.path(digest))
        return str(hasher.hexdigest())

    def clean_temp(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


class BlobTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
