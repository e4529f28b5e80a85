"""Taking in an upload: stream to a blob (BLAKE3 on the way), check it parses, record it.

The upload is streamed into the content-addressed store with a size cap; the stored file is then
parsed batch by batch to count rows and catch ragged rows, bad encoding, or a format that does not
match the name. Any failure removes the blob again (unless another dataset or artifact already
holds the same bytes), so a rejected upload leaves nothing behind.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from appliance import errors
from appliance.clock import now_iso
from appliance.errors import AppError
from appliance.ids import new_id
from appliance.services.datasets.naming import FORMATS, MEDIA_TYPES, FormatError
from appliance.store import datasets as q
from appliance.store.blobs import BlobStore, BlobTooLarge
from appliance.store.db import transaction


def ingest(
    conn: sqlite3.Connection,
    state_dir: Path,
    tenant_id: str,
    name: str,
    fmt: str | None,
    chunks: Iterable[bytes],
    max_bytes: int,
    source_job_id: str | None = None,
) -> dict[str, Any]:
    if fmt is None:
        raise AppError(
            errors.UNSUPPORTED_MEDIA_TYPE,
            "cannot tell the format from the name or Content-Type",
            hint=f"Name the file *.csv, *.tsv, *.parquet or *.jsonl, or pass ?format= ({', '.join(FORMATS)}).",
        )
    if fmt not in FORMATS:
        raise errors.validation("format", f"one of {', '.join(FORMATS)}")
    store = BlobStore(state_dir)
    try:
        digest, size = store.write_chunks(chunks, max_bytes=max_bytes)
    except BlobTooLarge as exc:
        raise AppError(errors.PAYLOAD_TOO_LARGE, f"the dataset is larger than the quota of {exc.limit} bytes") from exc
    existed = q.blob_in_use(conn, digest)
    try:
        if size == 0:
            raise FormatError("the file is empty")
        from appliance.services.datasets.formats import check_content

        rows, columns = check_content(store.path(digest), fmt)
    except FormatError as exc:
        if not existed:
            store.path(digest).unlink(missing_ok=True)
        raise AppError(errors.DATASET_INVALID, str(exc)) from exc
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
        q.insert(conn, row)
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
        row = q.get(conn, dataset_id, tenant_id)
        if row is None:
            raise errors.not_found("dataset", dataset_id)
        busy = q.active_jobs_using(conn, dataset_id)
        if busy:
            raise AppError(
                errors.DATASET_IN_USE,
                f"job(s) {', '.join(busy)} are using this dataset",
                hint="Wait for them to finish or cancel them, then delete.",
            )
        q.delete(conn, dataset_id)
        orphan = not q.blob_in_use(conn, row["blake3"])
    if orphan:
        BlobStore(state_dir).path(row["blake3"]).unlink(missing_ok=True)


def require(conn: sqlite3.Connection, tenant_id: str, dataset_id: str) -> dict[str, Any]:
    row = q.get(conn, dataset_id, tenant_id)
    if row is None:
        raise errors.not_found("dataset", dataset_id)
    return row
