"""Content-addressed blobs under ``blobs/ab/cdef…``, named by their BLAKE3 hash, with one lifecycle.

The same bytes are stored once and shared by every dataset and artifact that holds them, so a blob
may be removed only when nothing needs it, and deciding that must not race with a writer:

- **Write.** Bytes stream into a temp file in ``blobs/tmp`` that the writer holds an ``flock`` on
  (start-up cleanup skips held files), are fsynced, and then, under the database write lock, the
  writer *pins* the digest and renames the file into place (or drops its copy when the bytes are
  already there). So a crash never leaves a half file under a real name.
- **Reference.** The writer commits the row that points at the blob (a trigger counts it in
  ``blob_refs``) and removes its pin in that same transaction; on failure it calls ``drop``.
- **Remove.** Only ``release``/``drop`` unlink, inside ``BEGIN IMMEDIATE``, after re-checking that
  the blob has no reference and no pin. Pin-and-rename and re-check-and-unlink both hold the write
  lock, so they never interleave: a blob referenced by a committed row is never removed.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import blake3

from appliance.clock import now_iso
from appliance.fsutil import fsync_dir
from appliance.store.db import transaction
from appliance.store.owned import create_owned_file, link_owned_file, process_token, remove_if_unowned

CHUNK = 1 << 20
TEMP_PREFIX = "blob-"


@dataclass(frozen=True)
class StoredBlob:
    """A blob just written and pinned for its writer until the referencing row commits."""

    digest: str
    size: int
    pin: str


class BlobStore:
    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "blobs"
        self.tmp = self.root / "tmp"

    def path(self, digest: str) -> Path:
        if not is_digest(digest):
            raise ValueError(f"not a BLAKE3 hex digest: {digest!r}")
        return self.root / digest[:2] / digest[2:]

    def exists(self, digest: str) -> bool:
        return self.path(digest).exists()

    def open(self, digest: str) -> BinaryIO:
        return self.path(digest).open("rb")

    def rehash(self, digest: str) -> str:
        """The BLAKE3 of what is stored now, to detect corruption."""
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        hasher.update_mmap(self.path(digest))
        return str(hasher.hexdigest())

    def put_chunks(self, conn: sqlite3.Connection, chunks: Iterable[bytes], max_bytes: int | None = None) -> StoredBlob:
        """Stream ``chunks`` into a pinned blob, hashing on the way; memory stays flat.

        Raises ``BlobTooLarge`` (and keeps nothing) once more than ``max_bytes`` arrive.
        """
        fd, temp = create_owned_file(self.tmp, TEMP_PREFIX)
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
                digest = hasher.hexdigest()
                pin = self._pin_into_place(conn, temp, digest)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return StoredBlob(digest, size, pin)

    def put_file(self, conn: sqlite3.Connection, source: Path) -> StoredBlob:
        """Copy a finished file into the store (a job's output), pinned."""
        with source.open("rb") as fh:
            return self.put_chunks(conn, iter(lambda: fh.read(CHUNK), b""))

    def put_hashed(self, conn: sqlite3.Connection, source: Path, digest: str) -> StoredBlob:
        """Store a finished, fsynced file whose BLAKE3 its writer computed while writing it (an
        import hashes as it reads), pinned: a hard link into place, so neither a copy nor a second
        hash of bytes just hashed. The writer must not touch ``source`` afterwards: it is the blob.
        Across filesystems the file is copied, still without hashing it again."""
        if not is_digest(digest):
            raise ValueError(f"not a BLAKE3 hex digest: {digest!r}")
        try:
            fd, temp = link_owned_file(self.tmp, TEMP_PREFIX, source)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            fd, temp = create_owned_file(self.tmp, TEMP_PREFIX)
            try:
                with source.open("rb") as src, open(fd, "wb", closefd=False) as out:
                    shutil.copyfileobj(src, out, CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
            except BaseException:
                os.close(fd)
                temp.unlink(missing_ok=True)
                raise
        try:
            size = os.fstat(fd).st_size
            pin = self._pin_into_place(conn, temp, digest)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
        return StoredBlob(digest, size, pin)

    def _pin_into_place(self, conn: sqlite3.Connection, temp: Path, digest: str) -> str:
        final = self.path(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        pin = uuid.uuid4().hex
        with transaction(conn):
            conn.execute(
                "INSERT INTO blob_pins (id, blake3, owner, created_at) VALUES (?, ?, ?, ?)",
                (pin, digest, process_token(), now_iso()),
            )
            if final.exists():
                temp.unlink()
            else:
                os.replace(temp, final)
                fsync_dir(final.parent)
        return pin

    def release(self, conn: sqlite3.Connection, digests: Iterable[str]) -> list[str]:
        """Unlink each blob that no row references and no pin holds; returns those removed."""
        _outside_transaction(conn)
        with transaction(conn):
            return [d for d in dict.fromkeys(digests) if self._unlink_if_free(conn, d)]

    def drop(self, conn: sqlite3.Connection, blobs: Iterable[StoredBlob]) -> None:
        """A writer gives up its pins (its row was not committed) and the blobs go if now unused."""
        _outside_transaction(conn)
        held = list(blobs)
        with transaction(conn):
            unpin(conn, held)
            for digest in dict.fromkeys(b.digest for b in held):
                self._unlink_if_free(conn, digest)

    def _unlink_if_free(self, conn: sqlite3.Connection, digest: str) -> bool:
        if is_held(conn, digest):
            return False
        conn.execute("DELETE FROM blob_refs WHERE blake3 = ? AND refs = 0", (digest,))
        try:
            self.path(digest).unlink()
        except FileNotFoundError:
            return False
        return True

    def stored_digests(self) -> list[str]:
        """Every blob file on disk (not the temp dir)."""
        if not self.root.is_dir():
            return []
        found = []
        for shard in self.root.iterdir():
            if len(shard.name) == 2 and shard.is_dir():
                found += [shard.name + f.name for f in shard.iterdir() if is_digest(shard.name + f.name)]
        return sorted(found)

    def clean_temp(self) -> int:
        """Remove temp files no live writer holds (a crashed upload or copy); returns how many."""
        if not self.tmp.is_dir():
            return 0
        return sum(remove_if_unowned(p) for p in self.tmp.iterdir() if p.name.startswith(TEMP_PREFIX))


def unpin(conn: sqlite3.Connection, blobs: Iterable[StoredBlob]) -> None:
    """Remove pins; call it in the transaction that commits the rows referencing the blobs."""
    conn.executemany("DELETE FROM blob_pins WHERE id = ?", [(b.pin,) for b in blobs])


def is_held(conn: sqlite3.Connection, digest: str) -> bool:
    row = conn.execute(
        "SELECT COALESCE((SELECT refs FROM blob_refs WHERE blake3 = ?), 0) > 0"
        " OR EXISTS(SELECT 1 FROM blob_pins WHERE blake3 = ?)",
        (digest, digest),
    ).fetchone()
    return bool(row[0])


def held_digests(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT blake3 FROM blob_refs WHERE refs > 0 UNION SELECT blake3 FROM blob_pins").fetchall()
    return {r[0] for r in rows}


def referenced_digests(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT blake3 FROM blob_refs WHERE refs > 0 ORDER BY blake3").fetchall()]


def pins(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(pin id, owner token) of every pin."""
    return [(r[0], r[1]) for r in conn.execute("SELECT id, owner FROM blob_pins").fetchall()]


def delete_pins(conn: sqlite3.Connection, pin_ids: Iterable[str]) -> int:
    return conn.executemany("DELETE FROM blob_pins WHERE id = ?", [(p,) for p in pin_ids]).rowcount


def is_digest(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


class BlobTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


def _outside_transaction(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        raise RuntimeError("blobs are released in their own transaction, after the caller's has committed")
