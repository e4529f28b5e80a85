"""DSSE v1: PAE known answer, sign and verify, and every way an envelope can be wrong."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sealforge_verify.dsse import EnvelopeError, pae, parse_envelope, sign_envelope, verify_envelope


def test_pae_known_answer() -> None:
    # From the DSSE spec, as quoted in shared/testdata/README.md.
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_pae_counts_bytes_not_characters() -> None:
    assert pae("t/é", "ü".encode()) == "DSSEv1 4 t/é 2 ü".encode()


def test_sign_then_verify_roundtrip() -> None:
    key = Ed25519PrivateKey.generate()
    env = sign_envelope("application/vnd.in-toto+json", b'{"a":1}', key, "k+00000000")
    parsed = parse_envelope(env.to_json_bytes())
    assert parsed == env
    assert verify_envelope(parsed, key.public_key(), ["k+00000000"]).keyid == "k+00000000"
    assert json.loads(env.to_json_bytes())["payload"] == base64.b64encode(b'{"a":1}').decode()


def test_bad_signature_and_wrong_key_fail() -> None:
    key = Ed25519PrivateKey.generate()
    env = sign_envelope("t", b"body", key, "k")
    doc = json.loads(env.to_json_bytes())
    sig = bytearray(base64.b64decode(doc["signatures"][0]["sig"]))
    sig[10] ^= 1
    doc["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    with pytest.raises(EnvelopeError):
        verify_envelope(parse_envelope(json.dumps(doc).encode()), key.public_key())
    with pytest.raises(EnvelopeError):
        verify_envelope(env, Ed25519PrivateKey.generate().public_key())
    doc = json.loads(env.to_json_bytes())
    doc["payloadType"] = "other"
    with pytest.raises(EnvelopeError):
        verify_envelope(parse_envelope(json.dumps(doc).encode()), key.public_key())
    with pytest.raises(EnvelopeError, match="keyid"):
        verify_envelope(env, key.public_key(), ["someone-else"])


@pytest.mark.parametrize(
    "doc",
    [
        b"not json",
        b"[]",
        b'{"payloadType":"t","signatures":[{"sig":"AA=="}]}',
        b'{"payload":"aGk=","payloadType":"","signatures":[{"sig":"AA=="}]}',
        b'{"payload":"aGk=","payloadType":"t","signatures":[]}',
        b'{"payload":"aGl=","payloadType":"t","signatures":[{"sig":"AA=="}]}',
        b'{"payload":"aGk","payloadType":"t","signatures":[{"sig":"AA=="}]}',
        b'{"payload":"aGk=","payloadType":"t","signatures":[{"sig":"AA==","keyid":3}]}',
        b'{"payload":"aGk=","payloadType":"t","payloadType":"t","signatures":[{"sig":"AA=="}]}',
        b'{"payload":"aGk=","payloadType":"t","signatures":[{"sig":"AA=="}],"extra":1}',
    ],
)
def test_malformed_envelopes_are_rejected(doc: bytes) -> None:
    with pytest.raises(EnvelopeError):
        parse_envelope(doc)
