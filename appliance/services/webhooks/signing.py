"""Webhook signatures: Standard Webhooks, plus the published pages' `X-SLT-Signature`.

Standard Webhooks (https://www.standardwebhooks.com) is what receivers should check: `webhook-id`,
`webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed
with the base64 part of the endpoint's `whsec_…` secret, so the maintained `standardwebhooks`
library verifies our deliveries. The pages' diagram shows `X-SLT-Signature: blake3=<hex> ts=<ts>`;
it is sent too (docs/decisions.md, "Published API compatibility"): a keyed BLAKE3 of
"timestamp.body", its key derived from the same secret, so one secret serves both.

During a rotation's grace period each header carries one signature per live secret (the
specification's space-separated list), so a receiver holding either secret verifies.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from collections.abc import Sequence

import blake3

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
SLT_KEY_CONTEXT = "sealforge webhooks 2026 X-SLT-Signature v1"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key: the base64 after `whsec_` (as the Standard Webhooks libraries read it)."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of `msg_id.timestamp.body`."""
    material = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), material, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@functools.lru_cache(maxsize=4096)
def slt_key(secret: str) -> bytes:
    return blake3.blake3(secret_key(secret), derive_key_context=SLT_KEY_CONTEXT).digest()


def slt_sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex keyed BLAKE3 of `timestamp.body` (the `blake3=` part of `X-SLT-Signature`)."""
    return blake3.blake3(f"{timestamp}.".encode() + body, key=slt_key(secret)).hexdigest()


def headers(
    signing_secrets: Sequence[str], msg_id: str, event_type: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Every header a delivery carries besides Content-Type and User-Agent."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in signing_secrets),
        "X-SLT-Event": event_type,
        "X-SLT-Signature": " ".join(f"blake3={slt_sign(s, timestamp, body)}" for s in signing_secrets)
        + f" ts={timestamp}",
    }
