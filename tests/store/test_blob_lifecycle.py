"""The blob lifecycle (#12 item 1): references counted in the row's own transaction, writer pins,
and a collector that removes only what no row and no live writer holds.

Real SQLite in a fresh state dir; the "crashed writer" is a real process killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from appliance.store import blobs as blobs_store
from appliance.store.blob_gc import collect
from appliance.store.blobs import BlobStore
from appliance.store.db import open_connection, transaction
from appliance.store.migrations import _modules, migrate
from appliance.store.open import open_db
from appliance.store.owned import create_owned_file

CSV = b"a,b\n1,2\n3,4\n"


def refs(conn: Any, digest: str) -> int:
    row = conn.execute("SELECT refs FROM blob_refs WHERE blake3 = ?", (digest,)).fetchone()
    return int(row[0]) if row else 0


def add_job(conn: Any, tenant_id: str, job_id: str) -> None:
    conn.execute(
        "INSERT INTO jobs (id, tenant_id, kind, queue, status, contract, contract_hash, estimate_micro,"
        " estimate_seconds, max_attempts, created_by, created_at) VALUES (?, ?, 'mock', 'default', 'succeeded',"
        " '{}', 'h', 0, 1, 1, 'test', 'now')",
        (job_id, tenant_id),
    )


def add_artifact(conn: Any, tenant_id: str, job_id: str, art_id: str, digest: str) -> None:
    conn.execute(
        "INSERT INTO artifacts (id, tenant_id, job_id, name, media_type, size, blake3, created_at)"
        " VALUES (?, ?, ?, 'a.csv', 'text/csv', 1, ?, 'now')",
        (art_id, tenant_id, job_id, digest),
    )


@pytest.fixture
def conn(state_dir: Path) -> Any:
    return open_db(state_dir)


@pytest.fixture
def tenant_id(conn: Any) -> str:
    from appliance.services import identity

    return str(identity.create_tenant(conn, "acme")["id"])


def test_dataset_rows_count_references_and_delete_releases(conn: Any, state_dir: Path, tenant_id: str) -> None:
    from appliance.services.datasets import ingest

    first = ingest.ingest(conn, state_dir, tenant_id, "a.csv", "csv", [CSV], 1000)
    second = ingest.ingest(conn, state_dir, tenant_id, "b.csv", "csv", [CSV], 1000)
    digest = first["blake3"]
    path = BlobStore(state_dir).path(digest)
    assert refs(conn, digest) == 2 and conn.execute("SELECT count(*) FROM blob_pins").fetchone()[0] == 0
    ingest.delete(conn, state_dir, tenant_id, first["id"])
    assert path.exists() and refs(conn, digest) == 1
    ingest.delete(conn, state_dir, tenant_id, second["id"])
    assert not path.exists() and refs(conn, digest) == 0


def test_a_rolled_back_row_counts_nothing(conn: Any, state_dir: Path, tenant_id: str) -> None:
    blob = BlobStore(state_dir).put_chunks(conn, [CSV])
    with pytest.raises(RuntimeError), transaction(conn):
        add_job(conn, tenant_id, "job_a")
        add_artifact(conn, tenant_id, "job_a", "art_a", blob.digest)
        raise RuntimeError("the success transaction fails")
    assert refs(conn, blob.digest) == 0
    BlobStore(state_dir).drop(conn, [blob])
    assert not BlobStore(state_dir).exists(blob.digest)


def test_artifacts_shared_between_jobs_are_counted_once_each(conn: Any, state_dir: Path, tenant_id: str) -> None:
    store = BlobStore(state_dir)
    held = []
    for n in range(2):
        blob = store.put_chunks(conn, [CSV])
        with transaction(conn):
            add_job(conn, tenant_id, f"job_{n}")
            add_artifact(conn, tenant_id, f"job_{n}", f"art_{n}", blob.digest)
            blobs_store.unpin(conn, [blob])
        held.append(blob)
    assert refs(conn, held[0].digest) == 2
    assert store.release(conn, [held[0].digest]) == []
    assert collect(conn, state_dir).blobs_removed == 0 and store.exists(held[0].digest)


def test_a_pin_keeps_an_unreferenced_blob_until_dropped(conn: Any, state_dir: Path) -> None:
    store = BlobStore(state_dir)
    writer = store.put_chunks(conn, [CSV])
    other = store.put_chunks(conn, [CSV])  # same bytes from a second writer: its own pin
    store.drop(conn, [other])  # a rejected upload gives up its pin
    assert store.exists(writer.digest)
    assert collect(conn, state_dir).blobs_removed == 0 and store.exists(writer.digest)
    store.drop(conn, [writer])
    assert not store.exists(writer.digest)


def test_release_refuses_inside_a_transaction(conn: Any, state_dir: Path) -> None:
    with transaction(conn), pytest.raises(RuntimeError):
        BlobStore(state_dir).release(conn, ["0" * 64])


def test_collector_removes_orphans_and_pins_of_a_killed_writer(conn: Any, state_dir: Path) -> None:
    store = BlobStore(state_dir)
    orphan = store.path("ab" * 32)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"left by a crash before the pin existed")
    script = (
        "import sys; from pathlib import Path; from appliance.store.blobs import BlobStore;"
        " from appliance.store.open import open_db; s = Path(sys.argv[1]);"
        " b = BlobStore(s).put_chunks(open_db(s), [sys.argv[2].encode()]); print(b.digest, flush=True);"
        " sys.stdin.readline()"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(state_dir), text],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for text in ("dead writer", "live writer")
    ]
    try:
        dead, live = (p.stdout.readline().strip() for p in procs if p.stdout)
        os.kill(procs[0].pid, signal.SIGKILL)
        procs[0].wait()
        report = collect(conn, state_dir)
        assert report.stale_pins == 1 and report.blobs_removed == 2
        assert not orphan.exists() and not store.exists(dead)
        assert store.exists(live)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert collect(conn, state_dir).blobs_removed == 1 and not store.exists(live)


def test_clean_temp_spares_files_a_live_process_holds(state_dir: Path) -> None:
    store = BlobStore(state_dir)
    store.tmp.mkdir(parents=True)
    crashed = store.tmp / "blob-123-crashed"
    crashed.write_bytes(b"x")
    fd, held = create_owned_file(store.tmp, "blob-")
    try:
        assert store.clean_temp() == 1
        assert held.exists() and not crashed.exists()
    finally:
        os.close(fd)
    assert store.clean_temp() == 1 and not held.exists()


def test_migration_counts_existing_rows(tmp_path: Path) -> None:
    conn = open_connection(tmp_path / "sealforge.db")
    for number, module in _modules():
        if number > 5:
            break
        with transaction(conn):
            module.up(conn)
            conn.execute(f"PRAGMA user_version = {number}")
    conn.execute("INSERT INTO tenants (id, name, created_at) VALUES ('ten_a', 'a', 'now')")
    add_job(conn, "ten_a", "job_a")
    for n in range(3):
        add_artifact(conn, "ten_a", "job_a", f"art_{n}", "cd" * 32)
    conn.execute(
        "INSERT INTO datasets (id, tenant_id, name, format, media_type, size, blake3, created_at)"
        " VALUES ('ds_a', 'ten_a', 'a.csv', 'csv', 'text/csv', 1, ?, 'now')",
        ("cd" * 32,),
    )
    migrate(conn)
    assert refs(conn, "cd" * 32) == 4
    conn.close()
