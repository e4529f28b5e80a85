"""in-toto Statement v1 build and shape validation, and canonical JSON."""

from __future__ import annotations

import pytest
from sealforge_verify.encoding import b64decode_strict, canonical_json, parse_json_object
from sealforge_verify.statement import (
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    Subject,
    build_statement,
    check_subject_name,
    subjects_of,
    validate_statement,
)

DIGEST = "ab" * 32


def test_subjects_put_sha256_in_the_digest_set_and_blake3_in_the_annotations() -> None:
    sha = "12" * 32
    st = build_statement({"a.csv": {"sha256": sha, "blake3": DIGEST}}, {})
    assert st["subject"] == [{"name": "a.csv", "digest": {"sha256": sha}, "annotations": {"blake3": DIGEST}}]
    assert validate_statement(st) == []
    assert subjects_of(st) == [Subject("a.csv", DIGEST, sha)]
    assert Subject("a.csv", DIGEST, sha).digests() == {"sha256": sha, "blake3": DIGEST}
    older = {**st, "subject": [{"name": "a.csv", "digest": {"sha256": sha, "blake3": DIGEST}}]}
    assert validate_statement(older) == [] and subjects_of(older) == subjects_of(st)


def test_build_statement_shape() -> None:
    st = build_statement({"b.csv": DIGEST, "a/x.bin": "cd" * 32}, {"contract": {"seed": 1}})
    assert st["_type"] == STATEMENT_TYPE == "https://in-toto.io/Statement/v1"
    assert st["predicateType"] == PREDICATE_TYPE == "https://sealforge.dev/evidence/v1"
    assert [s["name"] for s in st["subject"]] == ["a/x.bin", "b.csv"]
    assert st["subject"][1] == {"name": "b.csv", "digest": {"blake3": DIGEST}}
    assert validate_statement(st) == []
    assert subjects_of(st) == [Subject("a/x.bin", "cd" * 32), Subject("b.csv", DIGEST)]


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda s: s.update(_type="https://in-toto.io/Statement/v0.1"), "_type"),
        (lambda s: s.update(predicateType="x"), "predicateType"),
        (lambda s: s.update(predicate=[]), "predicate"),
        (lambda s: s.update(subject=[]), "subject"),
        (lambda s: s["subject"][0].update(name=""), "non-empty"),
        (lambda s: s["subject"][0].update(name="../etc/passwd"), "'..'"),
        (lambda s: s["subject"][0].update(name="/abs"), "relative"),
        (lambda s: s["subject"][0].update(digest={"sha256": DIGEST}), "blake3"),
        (lambda s: s["subject"][0].update(digest={"blake3": DIGEST.upper()}), "lowercase"),
        (lambda s: s["subject"].append(dict(s["subject"][0])), "duplicate"),
    ],
)
def test_shape_problems_are_named(mutate, problem: str) -> None:  # type: ignore[no-untyped-def]
    st = build_statement({"a.csv": DIGEST}, {})
    mutate(st)
    problems = validate_statement(st)
    assert problems and problem in "; ".join(problems)


def test_build_refuses_bad_subjects() -> None:
    with pytest.raises(ValueError):
        build_statement({"a\\b": DIGEST}, {})
    assert check_subject_name("dir/file.csv") is None
    assert check_subject_name("a//b") is not None


def test_canonical_json() -> None:
    assert canonical_json({"b": 1, "a": [1, "é", None]}) == '{"a":[1,"é",null],"b":1}'.encode()
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_strict_base64_and_json() -> None:
    assert b64decode_strict("aGk=") == b"hi"
    for bad in ["aGl=", "aGk", "aG k=", "aGk=\n", "a-k="]:
        with pytest.raises(ValueError):
            b64decode_strict(bad)
    with pytest.raises(ValueError, match="duplicate"):
        parse_json_object(b'{"a":1,"a":2}', "doc")
    with pytest.raises(ValueError, match=r"non-finite|JSON"):
        parse_json_object(b'{"a":NaN}', "doc")
