"""Semantic string generators: names, e-mail addresses, addresses, phones, companies, words.

Each one draws indices into the bundled word lists and joins Arrow arrays, so a column of a million
names costs a few gathers and one concatenation rather than a million Python calls.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import patterns
from .arrowtext import ints_as_text, join, pick
from .wordlists import arrow_pairs, arrow_words

DEFAULT_PHONE = r"\+1-\d{3}-\d{3}-\d{4}"

TextFn = Callable[[np.random.Generator, int], pa.StringArray]


def _from_list(name: str) -> TextFn:
    def draw(rng: np.random.Generator, n: int) -> pa.StringArray:
        table = arrow_words(name)
        return pick(table, rng.integers(0, len(table), size=n))

    return draw


def full_name(rng: np.random.Generator, n: int) -> pa.StringArray:
    pairs = arrow_pairs("first_names", "last_names", " ")
    return pick(pairs, rng.integers(0, len(pairs), size=n))


def email(rng: np.random.Generator, n: int, unique_suffix: np.ndarray | None = None) -> pa.StringArray:
    """``first.last<digits>@domain``; with ``unique_suffix`` the digits make every address distinct.

    Names never end in a digit, so distinct suffixes give distinct local parts.
    """
    locals_ = arrow_pairs("first_names", "last_names", ".", lower=True)
    domains = arrow_words("domains")
    local = pick(locals_, rng.integers(0, len(locals_), size=n))
    d = pick(domains, rng.integers(0, len(domains), size=n))
    digits = rng.integers(0, 100, size=n)
    suffix = pick(_SUFFIXES, digits) if unique_suffix is None else ints_as_text(unique_suffix)
    return join([local, suffix, "@", d])


_SUFFIXES = pa.array([""] * 50 + [str(i) for i in range(50, 100)], type=pa.string())
"""Half the addresses get no digits, the rest a two-digit suffix."""


def street_address(rng: np.random.Generator, n: int) -> pa.StringArray:
    number = ints_as_text(rng.integers(1, 2000, size=n))
    return join([number, _from_list("streets")(rng, n), _from_list("street_suffixes")(rng, n)], " ")


def address(rng: np.random.Generator, n: int) -> pa.StringArray:
    return join([street_address(rng, n), _from_list("cities")(rng, n)], ", ")


def company(rng: np.random.Generator, n: int) -> pa.StringArray:
    return join([_from_list("company_words")(rng, n), _from_list("company_suffixes")(rng, n)], " ")


def phone(rng: np.random.Generator, n: int, pattern: str = DEFAULT_PHONE) -> pa.StringArray:
    return patterns.generate(patterns.parse(pattern), rng, n)


def word_run(rng: np.random.Generator, n: int, lo: int = 1, hi: int = 3) -> pa.StringArray:
    """``lo..hi`` words separated by spaces: the fallback for free-text columns."""
    table = arrow_words("words")
    count = rng.integers(lo, hi + 1, size=n)
    picks = [pick(table, rng.integers(0, len(table), size=n)) for _ in range(hi)]
    out = picks[0]
    for k in range(1, hi):
        extra = join([out, picks[k]], " ")
        out = pc.if_else(pa.array(count > k), extra, out)
    return out


SIMPLE: dict[str, TextFn] = {
    "first_name": _from_list("first_names"),
    "last_name": _from_list("last_names"),
    "name": full_name,
    "street_address": street_address,
    "address": address,
    "city": _from_list("cities"),
    "country": _from_list("countries"),
    "company": company,
    "domain": _from_list("domains"),
}
"""Generators that take no parameters."""
