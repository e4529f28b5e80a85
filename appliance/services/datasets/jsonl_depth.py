"""How deep each JSON Lines line nests, measured before pyarrow's JSON parser sees the file.

pyarrow's parser recurses once per level: a line 100,000 levels deep crashes the process (SIGSEGV)
and one 5,000 deep decodes into a type that later breaks every reader. So the upload scans the raw
bytes first, with numpy, a block of lines at a time: quotes not escaped by an odd run of
backslashes open and close strings, brackets outside strings count depth, and every newline resets
both (JSON Lines puts one value on each line, and a raw newline cannot sit inside a JSON string).
Lines longer than `max_row_bytes` are refused here too, so the scan's memory stays bounded. The
field names of the first parse block are counted here too (see `check_fields`).
"""

from __future__ import annotations

import re
from typing import BinaryIO

import numpy as np

from appliance.services.datasets.limits import LimitExceeded, Limits, TooDeep

_READ = 256 << 10
_NL, _QUOTE, _BACKSLASH = 10, 34, 92
_OPEN_BRACE, _OPEN_BRACKET = ord("{"), ord("[")
# Every JSON string in order (outside strings no quote can stand, so the matches stay aligned),
# with the colon that follows a string only when it is an object key.
_STRING = re.compile(rb'"([^"\\\n]*(?:\\.[^"\\\n]*)*)"(\s*:)?')
_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("{"), ord("[")]] = 1
_STEP[[ord("}"), ord("]")]] = -1
_MARKS = np.zeros(256, dtype=bool)
_MARKS[[ord(c) for c in '{}[]"\\\n']] = True


def _block_depths(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions, depth within the line) of the bytes that matter in a block that starts a line.

    Only brackets, quotes, backslashes and newlines can change the depth, so the work runs on them
    alone (a fraction of the bytes)."""
    pos = np.flatnonzero(_MARKS[buf]).astype(np.int32)
    marks = buf[pos]
    n = len(pos)
    quote = marks == _QUOTE
    backslash = marks == _BACKSLASH
    if backslash.any():
        follows = np.zeros(n, dtype=bool)
        follows[1:] = backslash[:-1] & (pos[:-1] == pos[1:] - 1)
        starts = np.where(backslash & ~follows, np.arange(n, dtype=np.int32), 0)
        run_start = np.maximum.accumulate(starts)
        escaped = np.zeros(n, dtype=bool)
        run_len = np.arange(n, dtype=np.int32) - run_start + 1
        escaped[1:] = follows[1:] & (run_len[:-1] % 2 == 1)
        quote &= ~escaped
    newline = marks == _NL
    quotes = np.cumsum(quote, dtype=np.int32)
    quotes_at_line_start = np.maximum.accumulate(np.where(newline, quotes, 0))
    step = np.where((quotes - quotes_at_line_start) % 2 == 0, _STEP[marks], 0).astype(np.int32)
    depth = np.cumsum(step, dtype=np.int32)
    last_newline = np.maximum.accumulate(np.where(newline, np.arange(n, dtype=np.int32), -1))
    line_base = np.where(last_newline >= 0, depth[np.maximum(last_newline, 0)], 0)
    return pos, depth - line_base


def _may_be_deep(buf: np.ndarray, newlines: np.ndarray, lines: int, limit: int) -> bool:
    """Whether any line has more opening brackets than ``limit``, strings included.

    A line cannot nest deeper than it has opening brackets, so a block where no line has more needs
    no exact scan: the common case (flat records, one ``{`` a line) costs two byte comparisons."""
    opens = np.flatnonzero((buf == _OPEN_BRACE) | (buf == _OPEN_BRACKET))
    if len(opens) <= limit:
        return False
    per_line = np.bincount(np.searchsorted(newlines, opens), minlength=lines)
    return bool((per_line > limit).any())


def check_depth(fh: BinaryIO, limits: Limits) -> tuple[int, int]:
    """(shortest, longest) non-empty line of ``fh`` (read to its end); raises TooDeep for the first
    line nested deeper than the limit, LimitExceeded for an overlong line."""
    carry = b""
    line_no = 1
    shortest, longest = 1 << 62, 0
    while True:
        data = fh.read(_READ)
        block = carry + data
        if not block:
            return shortest, longest
        end = block.rfind(b"\n") + 1 if data else len(block)
        if end == 0:
            if len(block) > limits.max_row_bytes:
                raise LimitExceeded(
                    f"line {line_no} is longer than {len(block):,} bytes", limits.max_row_bytes, "max_row_bytes"
                )
            carry = block
            continue
        low, high = _check_block(np.frombuffer(block, dtype=np.uint8, count=end), line_no, limits)
        shortest, longest = min(shortest, low), max(longest, high)
        line_no += block.count(b"\n", 0, end)
        carry = block[end:]
        if not data:
            return shortest, longest


def _check_block(buf: np.ndarray, first_line: int, limits: Limits) -> tuple[int, int]:
    newlines = np.flatnonzero(buf == _NL)
    starts = np.concatenate(([0], newlines + 1))[: len(newlines) + (0 if buf[-1] == _NL else 1)]
    ends = np.concatenate((newlines, [len(buf)]))[: len(starts)]
    long = np.flatnonzero(ends - starts > limits.max_row_bytes)
    first_long = int(starts[long[0]]) if len(long) else len(buf)
    first_deep = len(buf)
    if _may_be_deep(buf, newlines, len(starts), limits.max_nesting_depth):
        positions, depths = _block_depths(buf)
        deep = np.flatnonzero(depths > limits.max_nesting_depth)
        first_deep = int(positions[deep[0]]) if len(deep) else len(buf)
    if first_long == first_deep == len(buf):
        lengths = ends - starts
        filled = lengths[lengths > 0]
        return (int(filled.min()), int(filled.max())) if len(filled) else (1 << 62, 0)
    at = min(first_long, first_deep)
    line = first_line + int(np.searchsorted(newlines, at))
    if at == first_long:
        width = int(ends[long[0]] - starts[long[0]])
        raise LimitExceeded(f"line {line} is {width:,} bytes long", limits.max_row_bytes, "max_row_bytes")
    raise TooDeep(
        f"line {line} nests lists or objects more than {limits.max_nesting_depth} levels deep", limits.max_nesting_depth
    )


def check_fields(fh: BinaryIO, limits: Limits, block: int) -> int:
    """How many distinct field names the first parse block uses; LimitExceeded past `max_columns`.

    pyarrow takes its columns from the first block and grows every column for every row of it, so
    a few megabytes of lines with distinct keys would cost gigabytes (later blocks cannot add
    fields). Key names at any depth count, as each becomes a column or a nested field."""
    head = fh.read(block)
    head = head[: head.rfind(b"\n") + 1 or len(head)]
    names = {name for name, colon in _STRING.findall(head) if colon}
    if len(names) > limits.max_columns:
        raise LimitExceeded(
            f"the first lines name at least {len(names):,} distinct fields",
            limits.max_columns,
            "max_columns",
            "columns",
        )
    return len(names)


def block_size(shortest: int, longest: int, fields: int, block: int, limits: Limits) -> int:
    """A parse block that decodes within half of `max_page_bytes`.

    A line missing a field still costs that column's slot, so a block of short lines over many
    fields decodes to lines x fields cells: 4 MiB of `{}` lines over 2,000 fields would be 20 GB.
    The block shrinks until it fits, but never below the longest line (a row must fit a block)."""
    per_line = 9 * max(fields, 1) + 16
    budget = limits.max_page_bytes // 2
    fitting = budget // per_line * max(shortest, 2)
    size = max(min(block, fitting), min(block, longest + 1))
    decoded = size // max(shortest, 2) * per_line
    if decoded > limits.max_page_bytes:
        raise LimitExceeded(
            f"lines as short as {shortest:,} bytes each decode into {fields:,} fields, so parsing lines up to "
            f"{longest:,} bytes long would hold {decoded:,} bytes at once",
            limits.max_page_bytes,
            "max_page_bytes",
        )
    return size
