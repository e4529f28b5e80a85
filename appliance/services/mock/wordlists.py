"""The bundled word lists (``appliance/data/*.txt``), loaded once per process.

They are plain text written for this project, so the appliance needs no network and no
third-party data package to produce names, addresses and companies.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pyarrow as pa

LISTS = (
    "first_names",
    "last_names",
    "streets",
    "street_suffixes",
    "cities",
    "countries",
    "company_words",
    "company_suffixes",
    "domains",
    "words",
)


@cache
def words(name: str) -> tuple[str, ...]:
    """The entries of one list, in file order, without blanks or duplicates."""
    if name not in LISTS:
        raise KeyError(f"no bundled word list {name!r}")
    text = resources.files("appliance").joinpath("data", f"{name}.txt").read_text(encoding="utf-8")
    return tuple(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


@cache
def arrow_pairs(first: str, second: str, sep: str, lower: bool = False) -> pa.StringArray:
    """Every ``a<sep>b`` pair of two lists (row-major), so a name costs one gather, not two and a join."""
    a, b = words(first), words(second)
    if lower:
        a = tuple(w.lower().replace(" ", "") for w in a)
        b = tuple(w.lower().replace(" ", "") for w in b)
    return pa.array([f"{x}{sep}{y}" for x in a for y in b], type=pa.string())


@cache
def arrow_words(name: str, lower: bool = False) -> pa.StringArray:
    """A list as an Arrow array (optionally lower-cased, for e-mail addresses)."""
    items = words(name)
    return pa.array([w.lower().replace(" ", "") for w in items] if lower else list(items), type=pa.string())
