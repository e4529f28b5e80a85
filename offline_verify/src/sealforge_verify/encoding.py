"""Strict base64 and canonical JSON, shared by every part of a bundle.

Why strict: the verifier must notice any change to a bundle. Lenient base64 decoders accept
several spellings of the same bytes (non-zero padding bits, missing padding, stray newlines), so
a flipped character could go unnoticed. Decoding here accepts only the one canonical spelling.

Why canonical JSON: the appliance and the verifier must produce the same bytes for the same
object (the seal-log leaf is the exact bytes of ``envelope.json``, and the job contract is hashed),
so there is one serialisation: keys sorted by code point, no whitespace, UTF-8, no NaN/Infinity.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


def b64encode(data: bytes) -> str:
    """Standard base64 with padding, as text."""
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text: str) -> bytes:
    """Decode standard padded base64, accepting only its canonical spelling.

    Raises ``ValueError`` for any other spelling, so that two different strings never decode
    to the same bytes.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a base64 string, got {type(text).__name__}")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"invalid base64: {exc}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("non-canonical base64 (padding bits or padding characters altered)")
    return raw


def canonical_json(obj: Any) -> bytes:
    """Serialise ``obj`` as canonical JSON bytes: sorted keys, no spaces, UTF-8, finite numbers.

    Keys are sorted by Unicode code point (Python's string order), which matches RFC 8785 for
    keys in the Basic Multilingual Plane; Sealforge keys are ASCII, so the two never differ.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def parse_json_object(data: bytes, what: str) -> dict[str, Any]:
    """Parse UTF-8 JSON that must be an object; ``ValueError`` names ``what`` on failure.

    Duplicate keys and NaN/Infinity are rejected: both let two readers see different values.
    """
    try:
        obj = json.loads(data.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} is not valid UTF-8: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{what} must be a JSON object, got {type(obj).__name__}")
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} is not allowed")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out
