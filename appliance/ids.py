"""Prefixed identifiers whose random part sorts by creation time (ULID layout).

Sorting by time lets a list cursor be the last id seen, with no extra column.
"""

from __future__ import annotations

import os
import re
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIXES = frozenset(
    {"ten", "usr", "key", "ds", "job", "art", "seal", "run", "wh", "con", "mdl", "evl", "sk", "msg", "dlv", "alm"}
)
ID_RE = re.compile(r"^(?P<prefix>[a-z]+)_(?P<body>[0-9A-HJKMNP-TV-Z]{26})$")

_lock = threading.Lock()
_last_ms = 0
_last_rand = 0


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A new id such as ``job_01JD…``. Ids made in the same millisecond still sort in order."""
    global _last_ms, _last_rand
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    with _lock:
        now = int(time.time() * 1000)
        if now <= _last_ms:
            now = _last_ms
            rand = (_last_rand + 1) & ((1 << 80) - 1)
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1
        _last_ms, _last_rand = now, rand
    return f"{prefix}_{_encode(now, 10)}{_encode(rand, 16)}"


def is_id(value: str, prefix: str) -> bool:
    match = ID_RE.match(value)
    return bool(match) and match.group("prefix") == prefix  # type: ignore[union-attr]
