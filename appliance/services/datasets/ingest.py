"""Taking in an upload: stream to a blob (BLAKE3 on the way), check it parses, record it.

The upload is streamed into the content-addressed store with a size cap; the stored file is then
parsed batch by batch to count rows and catch ragged rows, bad encoding, or a format that does not
match the name. The blob is pinned while it is checked; the dataset row (whose trigger counts the
reference) and the unpin commit together. Any failure drops the pin and releases the blob, which
goes only if no other row or writer holds the same bytes, so a rejected upload leaves nothing
behind and never takes an identical accepted upload's bytes with it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance import errors
from appliance.clock import now_iso
from appliance.errors import AppError
from appliance.ids import new_id
from appliance.services import webhooks
from appliance.services.datasets.limits import Limits, app_error, current
from appliance.services.datasets.naming import MEDIA_TYPES, UPLOAD_FORMATS, FormatError
from appliance.store import datasets as datasets_store
from appliance.store.blobs import BlobStore, BlobTooLarge, StoredBlob, unpin
from appliance.store.db import transaction

if TYPE_CHECKING:
    from appliance.services.datasets.streaming import ArrivingCheck


def ingest(
    conn: sqlite3.Connection,
    state_dir: Path,
    tenant_id: str,
    name: str,
    fmt: str | None,
    chunks: Iterable[bytes],
    max_bytes: int,
    source_job_id: str | None = None,
    limits: Limits | None = None,
) -> dict[str, Any]:
    _require_format(fmt)
    store = BlobStore(state_dir)
    try:
        blob = store.put_chunks(conn, chunks, max_bytes=max_bytes)
    except BlobTooLarge as exc:
        raise AppError(errors.PAYLOAD_TOO_LARGE, f"the dataset is larger than the quota of {exc.limit} bytes") from exc
    try:
        return _record(conn, store, blob, tenant_id, name, str(fmt), source_job_id, limits or current())
    except BaseException:
        store.drop(conn, [blob])
        raise


def ingest_hashed(
    conn: sqlite3.Connection,
    state_dir: Path,
    tenant_id: str,
    name: str,
    fmt: str,
    path: Path,
    digest: str,
    source_job_id: str | None = None,
    limits: Limits | None = None,
    checked: ArrivingCheck | None = None,
) -> dict[str, Any]:
    """`ingest` for a file its writer already hashed (BLAKE3 ``digest``) and fsynced, such as an
    import: linked into the blob store, not copied and hashed again. ``checked``: the check
    (`streaming.StreamCheck`, `ParquetStreamCheck`) that saw the bytes as they were written,
    whose answer stands for the parse after the fact."""
    _require_format(fmt)
    store = BlobStore(state_dir)
    blob = store.put_hashed(conn, path, digest)
    try:
        return _record(conn, store, blob, tenant_id, name, fmt, source_job_id, limits or current(), checked)
    except BaseException:
        store.drop(conn, [blob])
        raise


def _require_format(fmt: str | None) -> None:
    if fmt is None:
        raise AppError(
            errors.UNSUPPORTED_MEDIA_TYPE,
            "cannot tell the format from the name or Content-Type",
            hint=f"Name the file *.csv, *.tsv, *.parquet or *.jsonl, or pass ?format= ({', '.join(UPLOAD_FORMATS)}).",
        )
    if fmt not in UPLOAD_FORMATS:
        raise errors.validation("format", f"one of {', '.join(UPLOAD_FORMATS)}")


def _record(
    conn: sqlite3.Connection,
    store: BlobStore,
    blob: StoredBlob,
    tenant_id: str,
    name: str,
    fmt: str,
    source_job_id: str | None,
    limits: Limits,
    checked: ArrivingCheck | None = None,
) -> dict[str, Any]:
    """Check the pinned blob parses, then commit the row and give up the pin in one transaction."""
    digest, size = blob.digest, blob.size
    try:
        if size == 0:
            raise FormatError("the file is empty")
        from appliance.services.datasets.formats import check_content

        if checked is not None:
            rows, columns = checked.finish(store.path(digest))
        else:
            rows, columns = check_content(store.path(digest), fmt, limits)
    except FormatError as exc:
        raise app_error(exc) from exc
    row = {
        "id": new_id("ds"),
        "tenant_id": tenant_id,
        "name": name or f"dataset.{fmt}",
        "format": fmt,
        "media_type": MEDIA_TYPES[fmt],
        "size": size,
        "blake3": digest,
        "rows": rows,
        "columns": columns,
        "source_job_id": source_job_id,
        "created_at": now_iso(),
    }
    with transaction(conn):
        datasets_store.insert_dataset(conn, row)
        unpin(conn, [blob])
        webhooks.emit(conn, tenant_id, "dataset.created", lambda: view(row))
    return view(row)


def view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **{
            k: row[k]
            for k in (
                "id",
                "name",
                "format",
                "media_type",
                "size",
                "blake3",
                "rows",
                "columns",
                "source_job_id",
                "created_at",
            )
        },
        "_links": {
            "self": f"/v1/datasets/{row['id']}",
            "preview": f"/v1/datasets/{row['id']}/preview",
            "profile": f"/v1/datasets/{row['id']}/profile",
        },
    }


def delete(conn: sqlite3.Connection, state_dir: Path, tenant_id: str, dataset_id: str) -> None:
    with transaction(conn):
        row = datasets_store.get_dataset(conn, dataset_id, tenant_id)
        if row is None:
            raise errors.not_found("dataset", dataset_id)
        busy = datasets_store.active_jobs_using(conn, dataset_id)
        if busy:
            raise AppError(
                errors.DATASET_IN_USE,
                f"job(s) {', '.join(busy)} are using this dataset",
                hint="Wait for them to finish or cancel them, then delete.",
            )
        datasets_store.delete_dataset(conn, dataset_id)
        webhooks.emit(conn, tenant_id, "dataset.deleted", lambda: view(row))
    BlobStore(state_dir).release(conn, [row["blake3"]])


def require(conn: sqlite3.Connection, tenant_id: str, dataset_id: str) -> dict[str, Any]:
    row = datasets_store.get_dataset(conn, dataset_id, tenant_id)
    if row is None:
        raise errors.not_found("dataset", dataset_id)
    return row


def listing(conn: sqlite3.Connection, tenant_id: str, limit: int, after: str | None) -> dict[str, Any]:
    """One page of the tenant's datasets, oldest first, as the API lists them."""
    return datasets_store.page_datasets(conn, tenant_id, limit, after).listing(view)
