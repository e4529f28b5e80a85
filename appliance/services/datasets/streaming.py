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
was stored. JSON Lines and Parquet need to seek (a depth scan, the footer), so they are checked
after the read, as uploads are.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path

from appliance.services.datasets.formats import (
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


class StreamCheck:
    """`check_content` for a CSV or TSV file fed in chunks: `feed` each chunk, then `finish`."""

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
