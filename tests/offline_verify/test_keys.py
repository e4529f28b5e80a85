"""Trust files (several keys, comments) and signer key storage."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sealforge_verify.keys import (
    TrustFileError,
    format_trust_file,
    generate_signer,
    load_signer,
    load_trust_file,
    parse_trust_file,
)


def test_trust_file_with_comments_and_rotation(tmp_path: Path) -> None:
    old, new = generate_signer("plant"), generate_signer("plant")
    text = (
        "# Sealforge appliance keys\n\n"
        f"{old.verifier.text}   # retired 2025-01\n"
        f"  {new.verifier.text}\n"
        f"{new.verifier.text}\n"
    )
    path = tmp_path / "trust.txt"
    path.write_text(text)
    assert load_trust_file(path) == [old.verifier, new.verifier]


def test_format_then_parse(tmp_path: Path) -> None:
    keys = [generate_signer("a").verifier, generate_signer("b").verifier]
    text = format_trust_file(keys, "two keys\nfor tests")
    assert text.startswith("# two keys\n# for tests\n")
    assert parse_trust_file(text) == keys


@pytest.mark.parametrize("text", ["", "# only a comment\n", "not-a-key\n", "a+00000000+AAAA extra\n"])
def test_bad_trust_files(text: str) -> None:
    with pytest.raises(TrustFileError):
        parse_trust_file(text)


def test_bad_line_is_named(tmp_path: Path) -> None:
    good = generate_signer("a").verifier.text
    with pytest.raises(TrustFileError, match="line 3"):
        parse_trust_file(f"# c\n{good}\nbroken+key\n")
    with pytest.raises(TrustFileError, match="cannot read"):
        load_trust_file(tmp_path / "missing.txt")


def test_signer_is_saved_private(tmp_path: Path) -> None:
    from sealforge_verify.keys import save_signer

    signer = generate_signer("appliance")
    path = tmp_path / "keys" / "seal.key"
    path.parent.mkdir()
    save_signer(signer, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signer(path).verifier == signer.verifier
    assert list(path.parent.iterdir()) == [path]
