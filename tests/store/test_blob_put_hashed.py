"""`BlobStore.put_hashed`: a file its writer already hashed goes into the store by hard link (no
copy, no second hash), pinned like any write; the same bytes twice keep one blob; a file on
another filesystem (tmpfs) is copied; a bad digest is refused before anything is stored."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import blake3
import pytest

from appliance.store.blobs import BlobStore, is_held
from appliance.store.open import open_db

DATA = b"t,flow\n1,2.5\n2,2.7\n"


@pytest.fixture
def conn(state_dir: Path) -> Any:
    return open_db(state_dir)


def _written(path: Path, data: bytes = DATA) -> tuple[Path, str]:
    path.write_bytes(data)
    return path, blake3.blake3(data).hexdigest()


def test_linked_in_and_pinned(state_dir: Path, conn: Any, tmp_path: Path) -> None:
    store = BlobStore(state_dir)
    source, digest = _written(tmp_path / "import.csv")
    blob = store.put_hashed(conn, source, digest)
    assert (blob.digest, blob.size) == (digest, len(DATA)) and is_held(conn, digest)
    assert os.stat(store.path(digest)).st_ino == os.stat(source).st_ino  # the same file, not a copy
    assert store.rehash(digest) == digest and list(store.tmp.iterdir()) == []
    again = store.put_hashed(conn, _written(tmp_path / "again.csv")[0], digest)
    assert again.digest == digest and again.pin != blob.pin
    assert os.stat(store.path(digest)).st_ino == os.stat(source).st_ino  # the first stays; no second file
    store.drop(conn, [blob, again])
    assert not store.exists(digest) and not is_held(conn, digest)
    assert source.read_bytes() == DATA  # the writer's name for the file is untouched


def test_another_filesystem_is_copied(state_dir: Path, conn: Any) -> None:
    if not Path("/dev/shm").is_dir() or os.stat("/dev/shm").st_dev == os.stat(state_dir).st_dev:
        pytest.skip("no tmpfs apart from the state dir's filesystem here")
    store = BlobStore(state_dir)
    with tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
        source, digest = _written(Path(shm) / "import.csv")
        blob = store.put_hashed(conn, source, digest)
        assert os.stat(store.path(digest)).st_ino != os.stat(source).st_ino
    assert store.path(digest).read_bytes() == DATA and blob.size == len(DATA)
    assert list(store.tmp.iterdir()) == []


def test_bad_digest_or_missing_file_stores_nothing(state_dir: Path, conn: Any, tmp_path: Path) -> None:
    store = BlobStore(state_dir)
    source, _digest = _written(tmp_path / "import.csv")
    with pytest.raises(ValueError, match="not a BLAKE3"):
        store.put_hashed(conn, source, "not-a-digest")
    with pytest.raises(FileNotFoundError):
        store.put_hashed(conn, tmp_path / "gone.csv", "0" * 64)
    assert store.stored_digests() == [] and conn.execute("SELECT count(*) FROM blob_pins").fetchone()[0] == 0
