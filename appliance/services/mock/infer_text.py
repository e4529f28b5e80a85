"""Recognise what a text column holds (e-mail, UUID, dates, names, codes) from its values.

Schema inference only sees values, not meaning; these detectors look at a sample and pick the
generator that reproduces the look of the data, falling back to a length-matched pattern.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from .wordlists import words

SAMPLE = 2_000
THRESHOLD = 0.95
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_PHONE = re.compile(r"^\+?[\d][\d\-\s().]{6,}\d$")
_STREET = re.compile(r"^\d{1,5} [A-Za-z][A-Za-z ]+ [A-Z][a-z]+$")
_ADDRESS = re.compile(r"^\d{1,5} [A-Za-z][A-Za-z ]+ [A-Z][a-z]+, [A-Za-z][A-Za-z .'-]+$")


def _share(sample: list[str], test: Any) -> float:
    return sum(1 for v in sample if test(v)) / len(sample) if sample else 0.0


def temporal_kind(sample: list[str]) -> str | None:
    """``date`` or ``timestamp`` when nearly all values are ISO 8601 text of that kind."""
    if _share(sample, _DATE.match) >= THRESHOLD:
        return "date"
    if _share(sample, _TIMESTAMP.match) >= THRESHOLD:
        return "timestamp"
    return None


def _char_class(ch: str) -> str:
    if ch.isdigit() and ch.isascii():
        return r"\d"
    if "A" <= ch <= "Z":
        return "[A-Z]"
    if "a" <= ch <= "z":
        return "[a-z]"
    return "\\" + ch if ch in "\\[]{}()?*+.|^$-" else ch


def shape(value: str) -> str:
    """A pattern for one value: runs of the same character class collapsed, e.g. ``[A-Z]{2}-\\d{4}``."""
    out: list[str] = []
    prev, run = "", 0
    for cls in (_char_class(c) for c in value):
        if cls == prev:
            run += 1
            continue
        if prev:
            out.append(prev if run == 1 else f"{prev}{{{run}}}")
        prev, run = cls, 1
    if prev:
        out.append(prev if run == 1 else f"{prev}{{{run}}}")
    return "".join(out)


def _fallback(sample: list[str]) -> dict[str, Any]:
    if _share(sample, lambda v: " " in v.strip()) >= 0.5:
        counts = [len(v.split()) for v in sample]
        return {"generator": "words", "min": max(1, min(min(counts), 20)), "max": max(1, min(max(counts), 20))}
    lengths = [len(v) for v in sample] or [1]
    lo, hi = max(1, min(lengths)), max(1, min(max(lengths), 64))
    return {"generator": "pattern", "pattern": f"[a-z]{{{min(lo, hi)},{hi}}}"}


def text_generator(sample: list[str], all_distinct: bool) -> dict[str, Any]:
    """Generator spec (without name/type) for a free-text column, judged from a sample."""
    if not sample:
        return {"generator": "words"}
    if _share(sample, _UUID.match) >= THRESHOLD:
        return {"generator": "uuid"}
    if _share(sample, _EMAIL.match) >= THRESHOLD:
        return {"generator": "email"}
    for gen, lists in (("first_name", ("first_names",)), ("last_name", ("last_names",)),
                       ("city", ("cities",)), ("country", ("countries",))):
        known = set(words(lists[0]))
        if _share(sample, known.__contains__) >= 0.8:
            return {"generator": gen}
    firsts = set(words("first_names"))
    if _share(sample, lambda v: len(v.split()) == 2 and v.split()[0] in firsts) >= 0.8:
        return {"generator": "name"}
    if _share(sample, _ADDRESS.match) >= 0.9:
        return {"generator": "address"}
    if _share(sample, _STREET.match) >= 0.9:
        return {"generator": "street_address"}
    suffixes = set(words("company_suffixes"))
    if _share(sample, lambda v: len(v.split()) >= 2 and v.split()[-1] in suffixes) >= 0.8:
        return {"generator": "company"}
    shapes = Counter(shape(v) for v in sample)
    top, count = shapes.most_common(1)[0]
    if count / len(sample) >= 0.9 and len(top) <= 200:
        gen = "phone" if _share(sample, _PHONE.match) >= THRESHOLD else "pattern"
        return {"generator": gen, "pattern": top}
    return _fallback(sample)
