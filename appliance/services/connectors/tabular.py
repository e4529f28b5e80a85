"""Rows to CSV bytes and artifact files to Arrow batches: what the table-shaped types share.

Reads hand the dataset validator CSV in chunks of about a megabyte, so memory stays bounded
however many rows a table holds. Writes read an artifact batch by batch with the datasets'
own reader (`formats.batches`), so a delivered file is parsed exactly as an upload would be.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

CHUNK_BYTES = 1 << 20


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def csv_line(row: Sequence[Any]) -> bytes:
    """One CSV row, quoted as `csv_chunks` quotes it."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(["" if value is None else value for value in row])
    return buffer.getvalue().encode()


def artifact_batches(path: Path, fmt: str) -> Iterator[Any]:
    """Record batches of an artifact file, read as an upload of that format would be."""
    from appliance.services.datasets.formats import batches
    from appliance.services.datasets.limits import current

    yield from batches(path, fmt, current())


def sql_type(arrow_type: Any, dialect: str) -> str:
    """A column type for a table created to receive an artifact."""
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return "boolean" if dialect == "postgresql" else "INTEGER"
    if pa.types.is_integer(arrow_type):
        return "bigint" if dialect == "postgresql" else "INTEGER"
    if pa.types.is_floating(arrow_type):
        return "double precision" if dialect == "postgresql" else "REAL"
    if pa.types.is_timestamp(arrow_type):
        if dialect != "postgresql":
            return "TEXT"
        return "timestamptz" if arrow_type.tz else "timestamp"
    if pa.types.is_date(arrow_type):
        return "date" if dialect == "postgresql" else "TEXT"
    return "text" if dialect == "postgresql" else "TEXT"


def format_of(name: str) -> str | None:
    from appliance.services.datasets.naming import declared_format

    return declared_format(name, "", None)
