"""C2SP signed notes: key id rule, key text formats, signing, verification, checkpoints."""

from __future__ import annotations

import base64
import hashlib

import pytest
from sealforge_verify.keys import generate_signer
from sealforge_verify.note import (
    EM_DASH,
    Checkpoint,
    NoteError,
    compute_key_id,
    parse_checkpoint,
    parse_note,
    parse_signer_key,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    verify_note,
)

# The example from golang.org/x/mod/sumdb/note, the reference implementation of the format.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIG = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"


def test_key_id_rule() -> None:
    key = parse_verifier_key(GO_VKEY)
    expected = hashlib.sha256(b"PeterNeumann\n\x01" + key.raw_public).digest()[:4]
    assert compute_key_id("PeterNeumann", key.raw_public) == expected == bytes.fromhex("c74f20a3")


def test_go_reference_example_known_answer() -> None:
    signer = parse_signer_key(GO_SKEY)
    assert signer.text == GO_SKEY
    assert signer.verifier.text == GO_VKEY
    note = sign_note(GO_TEXT, [signer])
    assert note == GO_TEXT + "\n" + GO_SIG
    assert verify_note(parse_note(note), [parse_verifier_key(GO_VKEY)])[0].ref == "PeterNeumann+c74f20a3"


def test_verifier_key_text_format() -> None:
    signer = generate_signer("plant-7.example")
    v = signer.verifier
    name, hex_id, b64 = v.text.split("+", 2)
    assert name == "plant-7.example"
    assert hex_id == v.key_id.hex() and len(hex_id) == 8
    assert base64.b64decode(b64) == b"\x01" + v.raw_public
    assert parse_verifier_key(v.text) == v
    assert parse_signer_key(signer.text).verifier == v


def test_keys_with_plus_in_base64_parse() -> None:
    for _ in range(40):
        s = generate_signer("k")
        assert parse_verifier_key(s.verifier.text) == s.verifier
        assert parse_signer_key(s.text).verifier == s.verifier


@pytest.mark.parametrize(
    "text",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key id
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # upper-case hex
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # space in name
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # empty name
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # truncated key
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown algorithm
        "PeterNeumann+c74f20a3",
    ],
)
def test_bad_verifier_keys_are_rejected(text: str) -> None:
    with pytest.raises(NoteError):
        parse_verifier_key(text)


def test_signature_line_format_and_wrong_key() -> None:
    signer = generate_signer("log.example")
    note = sign_note("hello\n", [signer])
    text, sig_line = note.split("\n\n")
    assert text == "hello"
    assert sig_line.startswith(EM_DASH + " log.example ")
    raw = base64.b64decode(sig_line.split(" ")[2])
    assert raw[:4] == signer.verifier.key_id and len(raw) == 68
    with pytest.raises(NoteError, match="no signature by a trusted key"):
        verify_note(parse_note(note), [generate_signer("log.example").verifier])
    with pytest.raises(NoteError, match="does not verify"):
        verify_note(parse_note(note.replace("hello", "hellO")), [signer.verifier])


def test_unknown_signers_are_ignored_and_several_may_sign() -> None:
    a, b, c = generate_signer("a"), generate_signer("b"), generate_signer("c")
    note = parse_note(sign_note("body\n", [a, b]))
    assert [k.name for k in verify_note(note, [b.verifier, c.verifier])] == ["b"]


@pytest.mark.parametrize(
    "data",
    [
        b"no blank line\n",
        b"text\n\n",
        "text\n\n— a AAAA\n".encode(),  # too short
        b"text\n\n- a AAAAAAAAAA==\n",  # ASCII dash
        "text\n\n— a AAAAAAAAAA==".encode(),  # no final newline
        "text\n\n— a AAAAAAAAAAB=\n".encode(),  # non-canonical base64
        "te\x01xt\n\n— a AAAAAAAAAA==\n".encode(),  # control character
        b"\xff\n\n",
    ],
)
def test_malformed_notes_are_rejected(data: bytes) -> None:
    with pytest.raises(NoteError):
        parse_note(data)


def test_checkpoint_roundtrip() -> None:
    signer = generate_signer("log.example")
    cp = Checkpoint("log.example/seals", 42, bytes(range(32)))
    assert cp.body() == "log.example/seals\n42\n" + base64.b64encode(bytes(range(32))).decode() + "\n"
    note = parse_note(sign_checkpoint(cp, [signer]))
    assert parse_checkpoint(note.text) == cp
    verify_note(note, [signer.verifier])
    with_ext = Checkpoint("o", 1, b"\x00" * 32, ("ext line",))
    assert parse_checkpoint(with_ext.body()) == with_ext


@pytest.mark.parametrize(
    "text",
    ["o\n1\n", "\n1\nAAAA\n", "o\n01\nAAAA\n", "o\n-1\nAAAA\n", "o\n1\nAAA\n", "o\n1\nAAAA", "o\n1\nAAAA\n\n"],
)
def test_malformed_checkpoints_are_rejected(text: str) -> None:
    with pytest.raises(NoteError):
        parse_checkpoint(text)
