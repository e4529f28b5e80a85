"""The raw-byte JSONL scans that run before pyarrow parses: nesting depth and field names."""

from __future__ import annotations

import io
import json

import pytest

from appliance.services.datasets.jsonl_depth import check_depth, check_fields
from appliance.services.datasets.limits import LimitExceeded, Limits, TooDeep


def jsonl(*rows: object) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(r) + "\n" for r in rows).encode())


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    flat = {"note": "[" * 100 + "{" * 100, "v": 1}
    shortest, longest = check_depth(jsonl(*[{"v": i} for i in range(1000)], flat), Limits(max_nesting_depth=4))
    assert shortest > 0 and longest >= 200


def test_a_deep_line_after_many_flat_ones_is_found() -> None:
    deep: object = 1
    for _ in range(10):
        deep = [deep]
    with pytest.raises(TooDeep) as caught:
        check_depth(jsonl(*[{"v": i} for i in range(5000)], {"x": deep}), Limits(max_nesting_depth=8))
    assert "line 5001" in str(caught.value)


def test_field_names_count_keys_only_whatever_the_strings_hold() -> None:
    tricky = {"a": 'x": y', "b": {"c": 1}, "d": ["e:", "f\\"], "g": "\\\"h\": 2"}
    assert check_fields(jsonl(tricky, {"a": 2}), Limits(), 1 << 20) == 5  # a, b, c, d, g


def test_too_many_field_names_in_the_first_block() -> None:
    with pytest.raises(LimitExceeded):
        check_fields(jsonl(*[{f"k{i}": i} for i in range(50)]), Limits(max_columns=10), 1 << 20)
