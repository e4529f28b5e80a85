"""A small, safe regex-like pattern language for string columns, generated vectorised.

Supported: literals, escapes (``\\d``, ``\\w``, ``\\s`` and escaped punctuation), character classes
such as ``[A-Z0-9_]`` (ASCII, no negation), and the quantifiers ``{n}``, ``{m,n}`` and ``?``.
Anything unbounded or backtracking (``*``, ``+``, groups, alternation) is refused, so a pattern can
never blow up in length or time. Unique patterns need fixed-length quantifiers: their rows are a
keyed bijection of the row index decoded in mixed radix, so they are unique by construction.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .arrowtext import from_matrix
from .rng import KeyedPermutation, mix64, name_key

MAX_LENGTH = 256
_DIGITS = string.digits
_WORD = string.ascii_letters + string.digits + "_"
_ESCAPES = {"d": _DIGITS, "w": _WORD, "s": " "}
_REFUSED = {
    "*": "unbounded quantifier '*' is not supported; use {m,n}",
    "+": "unbounded quantifier '+' is not supported; use {m,n}",
    "(": "groups are not supported",
    ")": "groups are not supported",
    "|": "alternation '|' is not supported",
    ".": "'.' is not supported; use a class such as [A-Za-z0-9] or escape it as \\.",
    "^": "anchors are not supported",
    "$": "anchors are not supported",
}


class PatternError(ValueError):
    """The pattern is outside the supported subset; the message says why."""


@dataclass(frozen=True)
class Atom:
    """One unit of the pattern: a set of alternative byte strings repeated ``lo..hi`` times."""

    choices: tuple[bytes, ...]
    lo: int
    hi: int

    @property
    def width(self) -> int:
        return len(self.choices[0])


def _class_chars(body: str) -> str:
    chars: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            if i + 1 >= len(body):
                raise PatternError("dangling backslash in character class")
            nxt = body[i + 1]
            chars.extend(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        if i + 2 < len(body) and body[i + 1] == "-":
            end = body[i + 2]
            if ord(end) < ord(ch):
                raise PatternError(f"bad range {ch}-{end} in character class")
            chars.extend(chr(c) for c in range(ord(ch), ord(end) + 1))
            i += 3
            continue
        chars.append(ch)
        i += 1
    if not chars:
        raise PatternError("empty character class")
    if any(ord(c) > 127 for c in chars):
        raise PatternError("character classes must be ASCII")
    return "".join(dict.fromkeys(chars))


def _quantifier(text: str, i: int) -> tuple[int, int, int]:
    """Parse a quantifier at ``text[i]``; returns (lo, hi, next index)."""
    if i < len(text) and text[i] == "?":
        return 0, 1, i + 1
    if i >= len(text) or text[i] != "{":
        return 1, 1, i
    end = text.find("}", i)
    if end < 0:
        raise PatternError("unclosed quantifier '{'")
    body = text[i + 1 : end]
    parts = body.split(",")
    if len(parts) > 2 or not all(p.strip().isdigit() for p in parts):
        raise PatternError(f"quantifier {{{body}}} must be {{n}} or {{m,n}} with integers")
    lo, hi = int(parts[0]), int(parts[-1])
    if lo < 0 or hi < lo:
        raise PatternError(f"quantifier {{{body}}} needs 0 <= m <= n")
    return lo, hi, end + 1


def parse(pattern: str) -> tuple[Atom, ...]:
    """Parse a pattern into atoms, or raise ``PatternError`` with a readable reason."""
    atoms: list[Atom] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch in _REFUSED:
            raise PatternError(_REFUSED[ch])
        if ch in "{}?":
            raise PatternError(f"quantifier '{ch}' at position {i} has nothing to repeat")
        if ch == "[":
            end = pattern.find("]", i + 1)
            while end > 0 and pattern[end - 1] == "\\":
                end = pattern.find("]", end + 1)
            if end < 0:
                raise PatternError("unclosed character class '['")
            if pattern[i + 1 : i + 2] == "^":
                raise PatternError("negated character classes are not supported")
            chars = _class_chars(pattern[i + 1 : end])
            i = end + 1
        elif ch == "\\":
            if i + 1 >= len(pattern):
                raise PatternError("dangling backslash at the end")
            chars = _ESCAPES.get(pattern[i + 1], pattern[i + 1])
            i += 2
        else:
            chars = ch
            i += 1
        lo, hi, i = _quantifier(pattern, i)
        atoms.append(Atom(tuple(c.encode("utf-8") for c in chars), lo, hi))
    if not atoms:
        raise PatternError("pattern is empty")
    if max_length(tuple(atoms)) > MAX_LENGTH:
        raise PatternError(f"pattern can produce more than {MAX_LENGTH} bytes")
    return tuple(atoms)


def max_length(atoms: tuple[Atom, ...]) -> int:
    return sum(a.hi * a.width for a in atoms)


def is_fixed(atoms: tuple[Atom, ...]) -> bool:
    return all(a.lo == a.hi for a in atoms)


def space_size(atoms: tuple[Atom, ...]) -> int:
    """Number of distinct strings a fixed-length pattern can produce."""
    total = 1
    for atom in atoms:
        total *= len(atom.choices) ** atom.hi
    return total


def _table(atom: Atom) -> np.ndarray:
    return np.frombuffer(b"".join(atom.choices), dtype=np.uint8).reshape(len(atom.choices), atom.width)


def generate(atoms: tuple[Atom, ...], rng: np.random.Generator, n: int) -> pa.StringArray:
    """``n`` random strings matching the pattern."""
    mats: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    for atom in atoms:
        table = _table(atom)
        if len(atom.choices) == 1:
            picks = np.zeros((n, atom.hi), dtype=np.intp)
        else:
            picks = rng.integers(0, len(atom.choices), size=(n, atom.hi))
        mats.append(table[picks].reshape(n, atom.hi * atom.width))
        if atom.lo != atom.hi:
            counts = rng.integers(atom.lo, atom.hi + 1, size=n)
            keep = np.arange(atom.hi) < counts[:, None]
            masks.append(np.repeat(keep, atom.width, axis=1))
        else:
            masks.append(np.ones((n, atom.hi * atom.width), dtype=bool))
    matrix = np.hstack(mats) if mats else np.zeros((n, 0), dtype=np.uint8)
    mask = None if is_fixed(atoms) else np.hstack(masks)
    return from_matrix(matrix, mask)


def generate_unique(atoms: tuple[Atom, ...], index: np.ndarray, key: int, rows: int) -> pa.StringArray:
    """Strings for the given row indices, distinct for distinct indices below ``rows``.

    The trailing positions (enough of them to count past ``rows``) decode a keyed permutation of
    the index; the leading positions are keyed hashes of the index, so every row is a pure
    function of its index and can be recomputed anywhere (a foreign key needs that).
    """
    radices: list[tuple[np.ndarray, int]] = []
    for atom in atoms:
        table = _table(atom)
        radices.extend((table, len(atom.choices)) for _ in range(atom.hi))
    digits: list[np.ndarray] = [np.zeros(index.size, dtype=np.int64)] * len(radices)
    domain = 1
    split = len(radices)
    while split > 0 and domain < max(rows, 1):
        split -= 1
        domain *= radices[split][1]
    value = KeyedPermutation(domain, key)(index) if domain > 1 else np.zeros(index.size, np.int64)
    for pos in range(len(radices) - 1, split - 1, -1):
        radix = radices[pos][1]
        digits[pos] = value % radix
        value = value // radix
    for pos in range(split):
        salt = np.uint64(name_key(str(key), str(pos)))
        digits[pos] = (mix64(index.astype(np.uint64) ^ salt) % np.uint64(radices[pos][1])).astype(np.int64)
    cols = [radices[pos][0][digits[pos]] for pos in range(len(radices))]
    return from_matrix(np.hstack(cols) if cols else np.zeros((index.size, 0), np.uint8))
