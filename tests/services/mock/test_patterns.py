"""The pattern subset: what it accepts, what it refuses, and that output matches the pattern."""

from __future__ import annotations

import re

import numpy as np
import pytest

from appliance.services.mock import patterns
from appliance.services.mock.rng import KeyedPermutation, block_rng


@pytest.mark.parametrize("pattern", [
    r"[A-Z]{3}-\d{4}", r"\d{1,3}\.\d{1,3}", r"ID_\w{8}", r"[a-c0-2_]{0,5}x?", r"€\d{2}", r"[\]\-]{2}", "plain",
])
def test_generated_strings_match(pattern: str) -> None:
    atoms = patterns.parse(pattern)
    out = patterns.generate(atoms, np.random.default_rng(0), 2_000).to_pylist()
    rx = re.compile(pattern)
    assert all(rx.fullmatch(s) for s in out), [s for s in out if not rx.fullmatch(s)][:5]


@pytest.mark.parametrize(("pattern", "message"), [
    ("a*", "unbounded"), ("a+", "unbounded"), ("(ab)", "groups"), ("a|b", "alternation"), (".", "'.'"),
    ("[^a]", "negated"), ("[abc", "unclosed character class"), ("a{2", "unclosed quantifier"),
    ("a{3,1}", "0 <= m <= n"), ("a{2,}", "{n} or {m,n}"), ("a{x}", "with integers"), ("{2}", "nothing to repeat"),
    ("\\", "dangling"),
    ("[é]", "ASCII"), ("a{300}", "more than 256"), ("", "empty"),
])
def test_refused_patterns(pattern: str, message: str) -> None:
    with pytest.raises(patterns.PatternError, match=re.escape(message)):
        patterns.parse(pattern)


def test_unique_patterns_are_a_bijection() -> None:
    atoms = patterns.parse(r"[A-C]\d{2}")
    assert patterns.space_size(atoms) == 300
    out = patterns.generate_unique(atoms, np.arange(300), key=5, rows=300).to_pylist()
    assert len(set(out)) == 300 and all(re.fullmatch(r"[A-C]\d{2}", s) for s in out)


def test_keyed_permutation_is_a_bijection_for_odd_sizes() -> None:
    for size in (1, 2, 3, 1000, 65_537):
        perm = KeyedPermutation(size, key=11)(np.arange(size))
        assert sorted(perm.tolist()) == list(range(size))


def test_block_rng_depends_on_every_key_part() -> None:
    base = block_rng(1, "t", "c", "values", 0).random()
    for args in ((2, "t", "c", "values", 0), (1, "u", "c", "values", 0), (1, "t", "d", "values", 0),
                 (1, "t", "c", "nulls", 0), (1, "t", "c", "values", 1)):
        assert block_rng(*args).random() != base
    assert block_rng(1, "t", "c", "values", 0).random() == base
