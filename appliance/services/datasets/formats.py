"""Recognising and reading the dataset formats: CSV, TSV, Parquet and JSON Lines, within bounds.

Parsing is pyarrow's, streamed batch by batch, so checking a 1 GB file costs time, not memory.
A small file can still decode into gigabytes (a zstd Parquet page, a CSV field, a JSONL line), so
every read here honours the `[datasets]` limits (see `limits.py`): Parquet page headers are
checked before a page is decompressed and batches are sized from them; CSV and JSONL blocks are
bounded; JSONL nesting is measured before pyarrow's recursive parser runs; and each decoded batch
is measured (cells, rows, the running total) before the next one is read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from appliance.services.datasets import parquet_pages
from appliance.services.datasets.jsonl_depth import block_size, check_depth, check_fields
from appliance.services.datasets.limits import LimitExceeded, Limits, TooDeep
from appliance.services.datasets.naming import MEDIA_TYPES, UPLOAD_FORMATS, FormatError, declared_format

__all__ = [
    "MEDIA_TYPES",
    "UPLOAD_FORMATS",
    "FormatError",
    "batches",
    "check_content",
    "declared_format",
    "read_all",
    "read_head",
]

PARQUET_MAGIC = b"PAR1"
BLOCK_BYTES = 4 << 20
BATCH_ROWS = 65_536
BATCH_BYTES = 32 << 20
READ_BUFFER = 1 << 20
_STRADDLE = "straddling object straddles two block boundaries"


def sniff_is_parquet(path: Path) -> bool:
    size = path.stat().st_size
    if size < 12:
        return False
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(-4, 2)
        tail = fh.read(4)
    return head == PARQUET_MAGIC and tail == PARQUET_MAGIC


def _type_depth(t: pa.DataType, limit: int) -> int:
    """How deep ``t`` nests lists, structs and maps, counted no further than ``limit + 1``."""
    if limit < 0:
        return 0
    if pa.types.is_struct(t):
        children = [t.field(i).type for i in range(t.num_fields)]
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        children = [t.value_type]
    elif pa.types.is_map(t):
        children = [t.key_type, t.item_type]
    else:
        return 0
    return 1 + max((_type_depth(child, limit - 1) for child in children), default=0)


def _check_schema(schema: pa.Schema, limits: Limits) -> None:
    if len(schema) > limits.max_columns:
        raise LimitExceeded(f"the file has {len(schema):,} columns", limits.max_columns, "max_columns", "columns")
    for field in schema:
        if _type_depth(field.type, limits.max_nesting_depth) > limits.max_nesting_depth:
            raise TooDeep(f"column {field.name!r} nests lists or structs too deep", limits.max_nesting_depth)


def _parquet(path: Path, limits: Limits, batch_rows: int | None, dictionary: bool) -> Iterator[pa.RecordBatch]:
    reader = pq.ParquetFile(path, pre_buffer=False, buffer_size=READ_BUFFER)
    metadata = reader.metadata
    if metadata.num_columns > limits.max_columns:
        raise LimitExceeded(
            f"the file has {metadata.num_columns:,} leaf columns", limits.max_columns, "max_columns", "columns"
        )
    _check_schema(reader.schema_arrow, limits)
    groups = parquet_pages.row_groups(str(path), metadata)
    total = sum(g.decompressed for g in groups)
    if total > limits.max_decoded_bytes:
        raise LimitExceeded(
            f"the file's pages decompress to {total:,} bytes", limits.max_decoded_bytes, "max_decoded_bytes"
        )
    widest = 1
    for index, group in enumerate(groups):  # (streaming.ParquetStreamCheck makes the same checks per group)
        if group.largest_pages > limits.max_page_bytes:
            raise LimitExceeded(
                f"row group {index} needs {group.largest_pages:,} bytes of decompressed pages at once",
                limits.max_page_bytes,
                "max_page_bytes",
            )
        if group.rows:
            widest = max(widest, -(-max(group.decompressed, group.values * 8) // group.rows))
    rows = batch_rows or max(1, min(BATCH_ROWS, BATCH_BYTES // widest))
    if dictionary:
        text = [f.name for f in reader.schema_arrow if _is_text(f.type)]
        reader = pq.ParquetFile(path, pre_buffer=False, buffer_size=READ_BUFFER, read_dictionary=text)
    yield from reader.iter_batches(batch_size=rows)


def batches(
    path: Path,
    fmt: str,
    limits: Limits,
    *,
    batch_rows: int | None = None,
    dictionary: bool = False,
    head_bytes: int | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream the file as record batches within ``limits``; parse errors become ``FormatError``.

    ``batch_rows`` caps the rows of a Parquet batch (CSV and JSONL come a block at a time).
    ``dictionary`` keeps Parquet text columns dictionary-encoded, as the writer stored them, so a
    check can measure them without expanding a repeated value once per row. ``head_bytes`` reads
    JSONL only that far (whole lines), so a preview does not scan a whole large file first."""
    block = max(BLOCK_BYTES, limits.max_row_bytes)
    try:
        if fmt == "parquet":
            yield from _parquet(path, limits, batch_rows, dictionary)
            return
        if fmt == "jsonl":
            with _jsonl_source(path, head_bytes, limits) as source:
                shortest, longest = check_depth(source, limits)
                source.seek(0)
                block = block_size(shortest, longest, check_fields(source, limits, block), block, limits)
                source.seek(0)
                reader = pa_json.open_json(source, read_options=pa_json.ReadOptions(block_size=block))
                _check_schema(reader.schema, limits)
                yield from reader
            return
        _check_header(path, fmt, limits, block)
        check_quotes_closed(path, fmt)
        yield from csv_batches(path, fmt, limits, block)
    except PARSE_ERRORS as exc:
        raise parse_error(exc, fmt, limits, block) from exc


PARSE_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError)


def csv_batches(source: Path | BinaryIO, fmt: str, limits: Limits, block: int) -> Iterator[pa.RecordBatch]:
    """pyarrow's CSV (TSV) reader over a file or a stream still arriving (`streaming.StreamCheck`),
    its column count checked before the first batch; raises pyarrow's errors (see `parse_error`)."""
    parse = pa_csv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",")
    csv_reader = pa_csv.open_csv(source, read_options=pa_csv.ReadOptions(block_size=block), parse_options=parse)
    _check_schema(csv_reader.schema, limits)
    yield from csv_reader


def parse_error(exc: BaseException, fmt: str, limits: Limits, block: int) -> FormatError:
    """A pyarrow parse failure as the FormatError an upload answers with."""
    if _STRADDLE in str(exc):
        return LimitExceeded(f"a row is longer than {block:,} bytes", limits.max_row_bytes, "max_row_bytes")
    return FormatError(_plain(str(exc), fmt))


def _jsonl_source(path: Path, head_bytes: int | None, limits: Limits) -> BinaryIO:
    """The file, or its first ``head_bytes`` cut after the last whole line, to scan and then parse."""
    if head_bytes is None or path.stat().st_size <= head_bytes:
        return path.open("rb")
    with path.open("rb") as fh:
        head = fh.read(head_bytes)
    cut = head.rfind(b"\n") + 1
    if cut == 0:
        raise LimitExceeded(f"line 1 is longer than {head_bytes:,} bytes", limits.max_row_bytes, "max_row_bytes")
    return io.BytesIO(head[:cut])


def _check_header(path: Path, fmt: str, limits: Limits, block: int) -> None:
    """Count the header's columns before pyarrow builds one column per name."""
    with path.open("rb") as fh:
        check_header_bytes(fh.read(block), fmt, limits)


def check_header_bytes(head: bytes, fmt: str, limits: Limits) -> None:
    """`_check_header` on the file's first block, however it was read."""
    first = head.split(b"\n", 1)[0].decode("utf-8", "replace")
    names = next(csv.reader([first], delimiter="\t" if fmt == "tsv" else ","), [])
    if len(names) > limits.max_columns:
        raise LimitExceeded(f"the header names {len(names):,} columns", limits.max_columns, "max_columns", "columns")


def check_quotes_closed(path: Path, fmt: str, quotes: int | None = None) -> None:
    """Refuse a file that ends inside a quoted field.

    pyarrow takes such a file without a word and keeps the rest of the file as the last cell, so
    an upload cut short (or a stray quote) would be stored as data. Inside quoted fields an escaped
    quote is doubled, so a file with an even count of quote characters cannot end inside quotes;
    counting them is a byte scan, far cheaper than the parse that follows. Only an odd count (an
    open quote, or a literal one inside an unquoted field such as ``5" pipe``) pays for a strict
    read with the csv module to tell the two apart. ``quotes``: the count, when a stream counted
    them as the bytes arrived."""
    if quotes is None:
        quotes = 0
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                quotes += chunk.count(b'"')
    if quotes % 2 == 0:
        return
    with path.open(encoding="utf-8", errors="replace", newline="") as text:
        try:
            for _ in csv.reader(text, delimiter="\t" if fmt == "tsv" else ",", strict=True):
                pass
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise FormatError(
                    f"not a valid {fmt.upper()} file: a quoted field is still open at the end of the file"
                ) from exc
            # other strictness complaints are left to pyarrow's own parse, which decides as before


def _plain(message: str, fmt: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "unreadable"
    return f"not a valid {fmt.upper()} file: {first}"


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t)


def _sizes(column: pa.Array) -> tuple[pa.Array | None, int]:
    """(per-row byte lengths of a text column, or None; the column's decoded bytes)."""
    if pa.types.is_dictionary(column.type) and _is_text(column.type.value_type):
        lengths = pc.take(pc.binary_length(column.dictionary), column.indices)
    elif _is_text(column.type):
        lengths = pc.binary_length(column)
    else:
        return None, column.nbytes
    return lengths, int(pc.sum(lengths).as_py() or 0) + 4 * len(column)


def measure(batch: pa.RecordBatch, limits: Limits, first_row: int) -> int:
    """The batch's decoded bytes; raises LimitExceeded for a cell or a row over the limits."""
    total = 0
    fixed = 0
    widths: pa.Array | None = None
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        lengths, size = _sizes(column)
        total += size
        if lengths is None:
            fixed += -(-size // max(1, len(column)))
            continue
        lengths = pc.fill_null(lengths, 0)
        longest = pc.max(lengths).as_py() or 0
        if longest > limits.max_cell_bytes:
            row = first_row + int(pc.index(lengths, longest).as_py())
            raise LimitExceeded(
                f"row {row:,} of column {name!r} holds {longest:,} bytes", limits.max_cell_bytes, "max_cell_bytes"
            )
        widths = lengths if widths is None else pc.add(widths, lengths)
    if widths is not None and len(widths):
        widest = int(pc.max(widths).as_py() or 0) + fixed
        if widest > limits.max_row_bytes:
            row = first_row + int(pc.index(widths, widest - fixed).as_py())
            raise LimitExceeded(f"row {row:,} is {widest:,} bytes wide", limits.max_row_bytes, "max_row_bytes")
    return total


def read_head(
    path: Path, fmt: str, rows: int, limits: Limits, batch_rows: int | None = None, head_bytes: int | None = None
) -> Iterator[pa.RecordBatch]:
    """The batches holding the first ``rows`` rows, reading no more of the file than needed."""
    count = 0
    for batch in batches(path, fmt, limits, batch_rows=batch_rows, head_bytes=head_bytes):
        piece = batch.slice(0, rows - count)
        count += piece.num_rows
        yield piece
        if count >= rows:
            return


def read_all(path: Path, fmt: str, max_rows: int | None = None, limits: Limits | None = None) -> pa.Table:
    """The whole table (or its first ``max_rows`` rows) for profiling and fitting."""
    from appliance.services.datasets.limits import current

    bounds = limits or current()
    taken = list(read_head(path, fmt, max_rows, bounds) if max_rows is not None else batches(path, fmt, bounds))
    if not taken:
        raise FormatError("the file holds no rows")
    return pa.Table.from_batches(taken)


def check_content(path: Path, fmt: str, limits: Limits) -> tuple[int, list[dict[str, str]]]:
    """Parse the whole file within ``limits``; returns (rows, columns) or raises FormatError."""
    is_parquet = sniff_is_parquet(path)
    if fmt == "parquet" and not is_parquet:
        raise FormatError("named as Parquet, but the content is not a Parquet file (no PAR1 markers)")
    if fmt != "parquet" and is_parquet:
        raise FormatError(f"named as {fmt.upper()}, but the content is a Parquet file")
    return tally(batches(path, fmt, limits, dictionary=True), fmt, limits, path)


def tally(
    parsed: Iterable[pa.RecordBatch], fmt: str, limits: Limits, path: Path, parquet_schema: pa.Schema | None = None
) -> tuple[int, list[dict[str, str]]]:
    """`check_content`'s checks on the batches of a file (or of a stream as it arrives): every
    batch measured, then the row count, the column types and names checked. ``parquet_schema``:
    the schema of the file's footer, when the footer came ahead of the file (an import)."""
    rows = 0
    decoded = 0
    schema: pa.Schema | None = None
    for batch in parsed:
        decoded += measure(batch, limits, rows + 1)
        if decoded > limits.max_decoded_bytes:
            raise LimitExceeded(
                f"the table decodes to more than {decoded:,} bytes", limits.max_decoded_bytes, "max_decoded_bytes"
            )
        rows += batch.num_rows
        schema = batch.schema
    if schema is None or (rows == 0 and fmt != "parquet"):
        raise FormatError("the file holds no rows")
    if fmt == "parquet":
        schema = parquet_schema if parquet_schema is not None else pq.ParquetFile(path).schema_arrow
    binary = [f.name for f in schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
    if binary and fmt != "parquet":
        raise FormatError(f"column(s) {', '.join(binary)} are not valid UTF-8 text; re-save the file as UTF-8")
    if len(set(schema.names)) != len(schema.names):
        raise FormatError("column names repeat; each column needs its own name")
    return rows, [{"name": f.name, "type": str(f.type)} for f in schema]
