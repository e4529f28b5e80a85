"""How deep a JSON document nests, measured before anything parses it.

Python's ``json`` parser recurses once per ``[`` or ``{``; a body of a few thousand brackets
raises ``RecursionError`` deep inside webargs, which would surface as a 500. Counting brackets
outside string literals is linear, needs no recursion, and lets the request pipeline refuse
such a body with a 400 before any parser sees it.
"""

from __future__ import annotations

import re

from appliance import errors
from appliance.errors import AppError

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")  # depth is all that counts, not which kind of bracket


def exceeds(data: bytes, limit: int) -> bool:
    """Whether ``data`` nests arrays/objects more than ``limit`` levels deep.

    Brackets inside JSON strings do not count. With strings and scalars gone, each pass removes
    the innermost (adjacent) pairs, one level at a time, in C. Invalid JSON may be over-counted,
    never under-counted up to the point where a parser would reject it, which is all that matters
    (a parser never gets past an unterminated string, so what follows one is not counted).
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    # without escapes quotes alternate, so every other piece is outside a string (all in C)
    outside = _STRING.sub(b"", data) if b"\\" in data else b"".join(data.split(b'"')[::2])
    brackets = outside.translate(_AS_SQUARE, _NOT_BRACKETS)
    for level in range(limit):
        reduced = brackets.replace(b"[]", b"")  # one pass, no rescan: exactly one level of pairs
        if not reduced:
            return False
        if len(reduced) == len(brackets):  # unbalanced leftovers: any opener may still nest deeper
            return level + reduced.count(b"[") > limit
        brackets = reduced
    return True


def check(data: bytes | str, limit: int, where: str = "body") -> None:
    """Raise ``JSON_TOO_DEEP`` (400) naming ``where`` when ``data`` nests deeper than ``limit``."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if exceeds(raw, limit):
        raise AppError(
            errors.JSON_TOO_DEEP,
            f"the JSON {where} nests arrays/objects deeper than {limit} levels (server.max_json_depth)",
            details=[errors.FieldError(where, f"nests deeper than {limit} levels")],
        )
