"""The sizes a Parquet file's pages decompress to, read from its page headers without decompressing.

pyarrow allocates a whole page's declared size before it decodes a single value, and one page can
hold a thousand rows (its writer checks the page size only between write batches), so a 20 KB
zstd file can ask for gigabytes in one allocation. The footer's `total_uncompressed_size` is only
a writer's claim; the page headers are what the decoder acts on. This module walks every column
chunk's page headers (Thrift compact protocol, a few bytes each) and reports, per row group, the
bytes the decoder would hold at once and in all, so the caller can refuse the file before pyarrow
touches a page.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow.parquet as pq

from appliance.services.datasets.naming import FormatError

_WINDOW = 64 << 10
_MAX_HEADER = 16 << 20
_PAGE_TYPES = range(0, 4)


@dataclass(frozen=True)
class GroupPages:
    """One row group as the decoder meets it."""

    rows: int
    largest_pages: int  # the largest page of each column, summed: what a reader holds at once
    decompressed: int  # every page of every column
    values: int  # values (leaves, nulls included) its data pages declare


class _Truncated(Exception):
    pass


class _Compact:
    """Just enough of the Thrift compact protocol to read a PageHeader and skip what it does not need."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise _Truncated
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise FormatError("not a valid PARQUET file: a page header holds an overlong number")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def skip(self, kind: int, depth: int = 0, element: bool = False) -> None:
        if depth > 32:
            raise FormatError("not a valid PARQUET file: a page header nests too deep")
        if kind in (1, 2) and not element:
            return
        if kind in (1, 2, 3):
            self.byte()
        elif kind in (4, 5, 6):
            self.varint()
        elif kind == 7:
            self.pos += 8
        elif kind == 8:
            length = self.varint()
            self.pos += length
        elif kind in (9, 10):
            head = self.byte()
            size = head >> 4 if head >> 4 != 15 else self.varint()
            for _ in range(size):
                self.skip(head & 0x0F, depth + 1, element=True)
        elif kind == 11:
            size = self.varint()
            if size:
                types = self.byte()
                for _ in range(size):
                    self.skip(types >> 4, depth + 1, element=True)
                    self.skip(types & 0x0F, depth + 1, element=True)
        elif kind == 12:
            self.struct(lambda _field, k: self.skip(k, depth + 1))
        else:
            raise FormatError(f"not a valid PARQUET file: unknown Thrift type {kind} in a page header")
        if self.pos > len(self.data):
            raise _Truncated

    def struct(self, on_field: Callable[[int, int], None]) -> None:
        last = 0
        while True:
            head = self.byte()
            kind = head & 0x0F
            if kind == 0:
                return
            delta = head >> 4
            field = last + delta if delta else self.zigzag()
            last = field
            on_field(field, kind)


@dataclass
class _Header:
    page_type: int = -1
    uncompressed: int = -1
    compressed: int = -1
    values: int = 0


def _parse_header(data: bytes) -> tuple[_Header, int]:
    reader = _Compact(data)
    header = _Header()

    def nested_values(field: int, kind: int) -> None:
        if field == 1 and kind == 5:
            header.values = reader.zigzag()
        else:
            reader.skip(kind)

    def top(field: int, kind: int) -> None:
        if kind == 5 and field in (1, 2, 3):
            value = reader.zigzag()
            if field == 1:
                header.page_type = value
            elif field == 2:
                header.uncompressed = value
            else:
                header.compressed = value
        elif kind == 12 and field in (5, 8):
            reader.struct(nested_values)
        else:
            reader.skip(kind)

    reader.struct(top)
    return header, reader.pos


def _read_header(fh: BinaryIO, offset: int) -> tuple[_Header, int]:
    window = _WINDOW
    while True:
        fh.seek(offset)
        data = fh.read(window)
        try:
            return _parse_header(data)
        except _Truncated:
            if len(data) < window or window >= _MAX_HEADER:
                raise FormatError(f"not a valid PARQUET file: the page header at byte {offset} is cut off") from None
            window *= 4


def _chunk_pages(fh: BinaryIO, column: pq.ColumnChunkMetaData, file_size: int) -> tuple[int, int, int]:
    """(largest page, all pages, data-page values) of one column chunk, from its page headers."""
    start = column.data_page_offset
    if column.has_dictionary_page and column.dictionary_page_offset:
        start = min(start, column.dictionary_page_offset)
    end = start + column.total_compressed_size
    if start < 4 or end > file_size or column.total_compressed_size < 0:
        raise FormatError("not a valid PARQUET file: a column chunk lies outside the file")
    largest = total = values = 0
    pos = start
    while pos < end:
        header, length = _read_header(fh, pos)
        if header.page_type not in _PAGE_TYPES or header.uncompressed < 0 or header.compressed < 0:
            raise FormatError(f"not a valid PARQUET file: the page header at byte {pos} is malformed")
        largest = max(largest, header.uncompressed)
        total += header.uncompressed
        if header.page_type in (0, 3):
            values += header.values
        pos += length + header.compressed
    return largest, total, values


def row_groups(path: str, metadata: pq.FileMetaData) -> list[GroupPages]:
    """Every row group's page totals. Raises FormatError when a page header cannot be read."""
    file_size = os.path.getsize(path)
    with open(path, "rb") as fh:
        return [group_pages(fh, metadata, index, file_size) for index in range(metadata.num_row_groups)]


def group_pages(fh: BinaryIO, metadata: pq.FileMetaData, index: int, file_size: int) -> GroupPages:
    """Row group ``index``'s page totals (an import walks each group as its bytes arrive)."""
    group = metadata.row_group(index)
    largest = total = values = 0
    for col in range(group.num_columns):
        chunk_largest, chunk_total, chunk_values = _chunk_pages(fh, group.column(col), file_size)
        largest += chunk_largest
        total += chunk_total
        values += chunk_values
    return GroupPages(group.num_rows, largest, total, values)
