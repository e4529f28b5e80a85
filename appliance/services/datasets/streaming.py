"""Checking CSV and TSV bytes while they arrive, so an import parses its data during the read.

An upload is stored first and parsed after (`formats.check_content`). An import (a connector's
read) would pay that parse again after the read, so `StreamCheck` runs the very same checks on
the bytes as they come: the head is buffered until the header's columns are counted (before
pyarrow builds one column per name), the rest goes through a pipe to pyarrow's CSV reader on a
thread of its own, so parsing overlaps the read (pyarrow releases the GIL), and the quotes and
the PAR1 markers are counted on the way. `finish` then answers what `check_content` would have
answered, with the same errors in the same order: content that is really Parquet, a header too
wide, a quoted field left open, then whatever the parse and the limits found.

The pipe holds back the writer when the parser falls behind, so memory stays at a block or two.
`close` (on failure or cancel) ends the parse at once: it sees the end of its input, and nothing
was stored. Parquet is decoded as it arrives too when its footer was fetched ahead
(`ParquetStreamCheck`); JSON Lines needs to seek (a depth scan), so it is checked after the read,
as uploads are.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from appliance.services.datasets.formats import (
    BATCH_BYTES,
    BATCH_ROWS,
    BLOCK_BYTES,
    PARQUET_MAGIC,
    PARSE_ERRORS,
    check_header_bytes,
    check_quotes_closed,
    csv_batches,
    parse_error,
    tally,
)
from appliance.services.datasets.limits import Limits
from appliance.services.datasets.naming import FormatError

STREAMED_FORMATS = ("csv", "tsv")
PIPE_BYTES = 1 << 20
TAIL_BYTES = 64 << 10  # pyarrow reads this much of a Parquet file's end to find its footer
_WIDEST = BATCH_BYTES // BATCH_ROWS  # bytes a row: wider, and check_content's batches are smaller


class StreamCheck:
    """`check_content` for a CSV or TSV file fed in chunks: `feed` each chunk, then `finish`."""

    reads_file = False

    def __init__(self, fmt: str, limits: Limits) -> None:
        if fmt not in STREAMED_FORMATS:
            raise ValueError(f"{fmt} is checked after the read, not while streaming")
        self.fmt, self.limits = fmt, limits
        self.block = max(BLOCK_BYTES, limits.max_row_bytes)
        self.size = 0
        self.quotes = 0
        self.first = b""
        self.last = b""
        self._head = bytearray()
        self._started = False
        self._header_error: FormatError | None = None
        self._pipe: int | None = None
        self._thread: threading.Thread | None = None
        self._result: tuple[int, list[dict[str, str]]] | None = None
        self._failure: BaseException | None = None

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.quotes += chunk.count(b'"')
        if len(self.first) < 4:
            self.first = (self.first + chunk[:4])[:4]
        self.last = (self.last + chunk[-4:])[-4:]
        if not self._started:
            self._head += chunk
            if len(self._head) >= self.block:
                self._start()
            return
        self._send(chunk)

    def _start(self) -> None:
        """Count the header's columns on the first block, then start the parse on what is here."""
        self._started = True
        head, self._head = bytes(self._head), bytearray()
        try:
            check_header_bytes(head[: self.block], self.fmt, self.limits)
        except FormatError as exc:
            self._header_error = exc
            return
        read_end, self._pipe = os.pipe()
        with contextlib.suppress(OSError, AttributeError):  # a larger pipe where Linux allows it
            fcntl.fcntl(self._pipe, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        self._thread = threading.Thread(target=self._parse, args=(read_end,), name="stream-check", daemon=True)
        self._thread.start()
        self._send(head)

    def _send(self, data: bytes) -> None:
        if self._pipe is None:
            return  # the header failed, or the parse has stopped: its answer is already known
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._pipe, view) :]
        except BrokenPipeError:
            self._close_pipe()  # the parser stopped early (it failed); finish reports why

    def _parse(self, read_end: int) -> None:
        try:
            with os.fdopen(read_end, "rb") as source:
                self._result = tally(
                    csv_batches(source, self.fmt, self.limits, self.block), self.fmt, self.limits, Path()
                )
        except FormatError as exc:
            self._failure = exc
        except PARSE_ERRORS as exc:
            self._failure = parse_error(exc, self.fmt, self.limits, self.block)
        except BaseException as exc:  # handed to the reader's thread by finish
            self._failure = exc

    def _close_pipe(self) -> None:
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None

    def close(self) -> None:
        """End the input and wait for the parse; safe to call more than once (cancel, failure)."""
        self._close_pipe()
        if self._thread is not None:
            self._thread.join()

    def finish(self, path: Path) -> tuple[int, list[dict[str, str]]]:
        """(rows, columns) as `check_content` answers for the whole file now at ``path``, or its
        FormatError. ``path`` is read only when the quotes do not pair up (the strict check)."""
        if not self._started:
            self._start()  # a file smaller than one block
        self.close()
        if self.size >= 12 and self.first == PARQUET_MAGIC and self.last == PARQUET_MAGIC:
            raise FormatError(f"named as {self.fmt.upper()}, but the content is a Parquet file")
        if self._header_error is not None:
            raise self._header_error
        check_quotes_closed(path, self.fmt, self.quotes)
        if self._failure is not None:
            raise self._failure
        if self._result is None:
            raise FormatError("the file holds no rows")
        return self._result


class ArrivingCheck(Protocol):
    """What an import feeds as it reads (`StreamCheck`, `ParquetStreamCheck`). ``reads_file``:
    the check reads the bytes back from the file being written, so the writer flushes first."""

    reads_file: bool

    def feed(self, chunk: bytes) -> None: ...

    def finish(self, path: Path) -> tuple[int, list[dict[str, str]]]: ...

    def close(self) -> None: ...


class _Stop(Exception):
    """The streamed check gives up (a failed check, a cancel, a file unlike its footer): the
    upload's check of the whole file decides instead."""


class ParquetStreamCheck:
    """`check_content` for a Parquet file while it is written, given its footer in advance.

    Parquet keeps its index (the footer) at the end, so a reader cannot start before the last
    byte, unless the footer is fetched first (the S3 connector's ranged GET of the object's tail).
    With it, this check decodes the file on a thread of its own as the bytes land in the file:
    the reader's reads wait for the bytes, and every row group's page headers are walked and held
    to the limits (`parquet_pages`) before the decoder may read that group, so a hostile page is
    refused before pyarrow allocates it, as in `formats._parquet`. The batches are the ones
    `check_content` decodes (one reader over the whole file, the same batch size and options) and
    `tally` measures them, so a file that passes here passes there with the same rows and columns.

    Anything else (a check that fails, a footer unlike the file's last bytes, a row wider than
    the fixed batch size allows, a cancel) stops the streamed check, and `finish` answers with
    `check_content` on the finished file: every error is the upload's, in the upload's order.
    """

    reads_file = True

    def __init__(self, path: Path, size: int, tail: bytes, limits: Limits) -> None:
        self.path, self.size, self.tail, self.limits = path, size, tail, limits
        self.arrived = 0
        self.streamed = False  # after finish: whether the answer is the streamed decode's
        self._ended = False
        self._cond = threading.Condition()
        self._fh: BinaryIO | None = None
        self._result: tuple[int, list[dict[str, str]]] | None = None
        self._metadata: Any = None
        self._ranges: list[tuple[int, int]] = []
        self._walked = 0
        self._decoded = 0
        self._thread = threading.Thread(target=self._check, name="parquet-stream-check", daemon=True)
        self._thread.start()

    def feed(self, chunk: bytes) -> None:
        """``chunk`` has been written (and flushed) to the file."""
        with self._cond:
            self.arrived += len(chunk)
            self._cond.notify_all()

    def close(self) -> None:
        """No more bytes come: the check stops waiting (a cancel or a failure ends it early)."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()
        self._thread.join()
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def finish(self, path: Path) -> tuple[int, list[dict[str, str]]]:
        """(rows, columns) of the finished file at ``path``, or its FormatError."""
        from appliance.services.datasets.formats import check_content

        self.close()
        self.streamed = self._result is not None and self._same_file(path)
        if self._result is not None and self.streamed:
            return self._result
        return check_content(path, "parquet", self.limits)

    def _same_file(self, path: Path) -> bool:
        """The file written is the one the footer described: its size, first and last bytes."""
        if self.arrived != self.size or path.stat().st_size != self.size or len(self.tail) > self.size:
            return False
        with path.open("rb") as fh:
            head = fh.read(4)
            fh.seek(self.size - len(self.tail))
            return head == PARQUET_MAGIC and fh.read() == self.tail

    def _wait(self, end: int) -> None:
        with self._cond:
            while self.arrived < end:
                if self._ended:
                    raise _Stop
                self._cond.wait()

    def _check(self) -> None:
        from appliance.services.datasets.formats import tally

        try:
            batches, schema = self._open()
            self._result = tally(batches, "parquet", self.limits, Path(), schema)
            if self._walked != len(self._ranges):
                self._result = None
        except BaseException:  # any failure: `finish` runs the upload's check instead
            self._result = None

    def _open(self) -> tuple[Iterator[Any], Any]:
        """`formats._parquet`'s checks of the footer, then its batches, read as the bytes arrive."""
        import pyarrow.parquet as pq

        from appliance.services.datasets.formats import READ_BUFFER, _check_schema, _is_text

        if self.size < 12 or len(self.tail) < 12 or self.tail[-4:] != PARQUET_MAGIC:
            raise _Stop
        footer = pq.ParquetFile(_Arriving(self), pre_buffer=False, buffer_size=READ_BUFFER)
        metadata = footer.metadata
        if metadata.num_columns > self.limits.max_columns:
            raise _Stop
        _check_schema(footer.schema_arrow, self.limits)
        self._metadata = metadata
        self._ranges = [_group_range(metadata.row_group(i)) for i in range(metadata.num_row_groups)]
        text = [f.name for f in footer.schema_arrow if _is_text(f.type)]
        reader = pq.ParquetFile(_Arriving(self), pre_buffer=False, buffer_size=READ_BUFFER, read_dictionary=text)
        # check_content's batch size is BATCH_ROWS unless a row group is wider per row than
        # `_WIDEST`; `_gate` stops the streamed check for such a file, so the batches stay its
        return reader.iter_batches(batch_size=BATCH_ROWS), footer.schema_arrow

    def _gate(self, start: int, end: int) -> None:
        """Before the decoder reads [start, end): the bytes are in the file, and every row group
        that starts before ``end`` has had its page headers walked and held to the limits."""
        from appliance.services.datasets import parquet_pages

        while self._walked < len(self._ranges) and self._ranges[self._walked][0] < end:
            high = self._ranges[self._walked][1]
            self._wait(high)
            if self._fh is None:
                self._fh = self.path.open("rb")
            group = parquet_pages.group_pages(self._fh, self._metadata, self._walked, self.size)
            self._decoded += group.decompressed
            widest = -(-max(group.decompressed, group.values * 8) // group.rows) if group.rows else 1
            if (
                group.largest_pages > self.limits.max_page_bytes
                or self._decoded > self.limits.max_decoded_bytes
                or widest > _WIDEST
            ):
                raise _Stop
            self._walked += 1
        if start < self.size - len(self.tail):
            self._wait(min(end, self.size - len(self.tail)))
            if self._fh is None:
                self._fh = self.path.open("rb")


def _group_range(group: Any) -> tuple[int, int]:
    """[first byte, end) of a row group's column chunks, as the footer places them."""
    low, high = None, 0
    for col in range(group.num_columns):
        column = group.column(col)
        start = column.data_page_offset
        if column.has_dictionary_page and column.dictionary_page_offset:
            start = min(start, column.dictionary_page_offset)
        low = start if low is None else min(low, start)
        high = max(high, start + column.total_compressed_size)
    return (low or 0, high)


class _Arriving(io.RawIOBase):
    """The file being written, as pyarrow reads it: its last bytes from the footer fetched ahead,
    the rest from the file once `ParquetStreamCheck._gate` lets the range through."""

    def __init__(self, check: ParquetStreamCheck) -> None:
        super().__init__()
        self.check = check
        self.pos = 0
        self.tail_start = check.size - len(check.tail)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.check.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def size(self) -> int:
        return self.check.size

    def read(self, size: int = -1) -> bytes:
        end = self.check.size if size is None or size < 0 else min(self.check.size, self.pos + size)
        if end <= self.pos:
            return b""
        start, parts = self.pos, []
        self.check._gate(start, end)
        if start < self.tail_start:
            upto = min(end, self.tail_start)
            fh = self.check._fh
            if fh is None:
                raise _Stop
            parts.append(os.pread(fh.fileno(), upto - start, start))
            if len(parts[0]) != upto - start:
                raise _Stop
            start = upto
        if end > start:
            parts.append(self.check.tail[start - self.tail_start : end - self.tail_start])
        self.pos = end
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
