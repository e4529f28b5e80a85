"""Small mock datasets made in one request: previews (nothing stored) and up to 100k rows stored
as datasets, priced like any generation (1 row = 1 micro-credit, charged on success)."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from appliance import errors
from appliance.errors import AppError
from appliance.services import credits
from appliance.services.datasets import ingest
from appliance.store.db import transaction
from appliance.store.owned import own_dir

MAX_ROWS = 100_000


def _schema_error(exc: Any) -> AppError:
    field = f"schema.{exc.field_path}" if exc.field_path else "schema"
    return errors.validation(field, exc.message)


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            yield chunk


def sample(schema: dict[str, Any], rows: int, seed: int) -> dict[str, Any]:
    from appliance.services.mock import SchemaError, preview

    try:
        return {"seed": seed, "tables": preview(schema, rows=rows, seed=seed)}
    except SchemaError as exc:
        raise _schema_error(exc) from exc


def create(
    conn: sqlite3.Connection,
    state_dir: Path,
    tenant_id: str,
    schema: dict[str, Any],
    seed: int,
    fmt: str,
    name: str,
    max_upload_bytes: int,
) -> dict[str, Any]:
    from appliance.services.mock import SchemaError, generate
    from appliance.services.mock.generation import row_counts

    try:
        total = sum(row_counts(schema, seed).values())
    except SchemaError as exc:
        raise _schema_error(exc) from exc
    if total > MAX_ROWS:
        raise errors.validation("schema", f"{total:,} rows is over this route's {MAX_ROWS:,}; submit a `mock` job")
    credits.require_enough(conn, tenant_id, total)
    tmp_root = state_dir / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=tmp_root, prefix="mockdata-"))
    owner = own_dir(work)
    try:
        files = generate(schema, seed, work, fmt)
        datasets = []
        for item in files:
            label = f"{name}-{item.table}" if name and len(files) > 1 else (name or item.table)
            datasets.append(
                ingest.ingest(
                    conn, state_dir, tenant_id, f"{label}.{fmt}", fmt, _file_chunks(item.path), max_upload_bytes
                )
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        owner.release()
    with transaction(conn):
        credits.charge(conn, tenant_id, None, "mock-data", total)
    return {"datasets": datasets, "rows": total, "credits": credits.from_micro(total)}


def vocabulary() -> dict[str, Any]:
    """The column types and generators the mock engine knows, each generator with the types it
    produces and the parameters it reads: what a schema form offers (no generator is ``derived``,
    which only rules fill)."""
    from appliance.services.mock.model import TYPES
    from appliance.services.mock.validate_columns import GENERATORS

    return {
        "types": list(TYPES),
        "generators": {
            name: {"types": sorted(types), "params": list(params)}
            for name, (types, params, _) in sorted(GENERATORS.items())
            if name != "derived"
        },
    }
