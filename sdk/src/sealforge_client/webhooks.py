"""Verify a webhook delivery from a Sealforge appliance before acting on it.

    from sealforge_client.webhooks import verify, WebhookVerificationError

    try:
        event = verify(request_body, request_headers, "whsec_…")
    except WebhookVerificationError:
        return 401

Deliveries are signed the Standard Webhooks way (`webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), which this checks with the
standard library alone; a message older or newer than the 5-minute window is refused, so a
captured delivery cannot be replayed later. Deliveries also carry the published pages'
`X-SLT-Signature: blake3=<hex> ts=<ts>`; given only that header (or its value as a string, as in
the pages' `verify(payload, sig, key)`), it is checked instead, which needs the `blake3` package.

During a secret rotation the appliance signs with the old and the new secret; pass either, or
both as a list. Receivers should also drop a `webhook-id` they have already processed: delivery
is at least once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"
SLT_KEY_CONTEXT = "sealforge webhooks 2026 X-SLT-Signature v1"
_SLT_PART = re.compile(r"(blake3|ts)=([0-9a-fA-F]+|\d+)")


class WebhookVerificationError(Exception):
    """The delivery is not authentic, or not fresh: do not act on it."""


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError as exc:
        raise WebhookVerificationError("the secret is not a whsec_ secret") from exc


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64>`: what the appliance puts in `webhook-signature` for this secret."""
    material = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), material, hashlib.sha256).digest()).decode()


def _fresh(timestamp: str, tolerance_s: int, now: float | None) -> int:
    try:
        ts = int(timestamp)
    except ValueError as exc:
        raise WebhookVerificationError("the timestamp is not a number") from exc
    current = time.time() if now is None else now
    if ts < current - tolerance_s:
        raise WebhookVerificationError(f"the message is older than {tolerance_s} s (a replay?)")
    if ts > current + tolerance_s:
        raise WebhookVerificationError(f"the message is dated more than {tolerance_s} s ahead")
    return ts


def _secrets(secret: str | Sequence[str]) -> list[str]:
    found = [secret] if isinstance(secret, str) else list(secret)
    if not found:
        raise WebhookVerificationError("no secret to verify with")
    return found


def _slt_check(body: bytes, header: str, secrets: list[str], tolerance_s: int, now: float | None) -> None:
    try:
        import blake3
    except ImportError as exc:  # the Standard Webhooks headers need nothing beyond the standard library
        raise WebhookVerificationError("checking X-SLT-Signature needs the blake3 package") from exc
    parts = _SLT_PART.findall(header)
    stamps = [value for name, value in parts if name == "ts"]
    given = [value.lower() for name, value in parts if name == "blake3"]
    if len(stamps) != 1 or not given:
        raise WebhookVerificationError("X-SLT-Signature is not `blake3=<hex> ts=<timestamp>`")
    ts = _fresh(stamps[0], tolerance_s, now)
    for secret in secrets:
        key = blake3.blake3(_key(secret), derive_key_context=SLT_KEY_CONTEXT).digest()
        expected = blake3.blake3(f"{ts}.".encode() + body, key=key).hexdigest()
        if any(hmac.compare_digest(expected, candidate) for candidate in given):
            return
    raise WebhookVerificationError("no signature matches: forged, altered, or signed with another secret")


def verify(
    payload: bytes | str,
    headers: Mapping[str, str] | str,
    secret: str | Sequence[str],
    *,
    tolerance_s: int = TOLERANCE_S,
    now: float | None = None,
) -> dict[str, Any]:
    """The delivery's JSON event once its signature and freshness check; raises
    `WebhookVerificationError` otherwise.

    ``payload`` is the raw request body, exactly as received (not re-serialised JSON). ``headers``
    is the request's headers (any letter case), or the `X-SLT-Signature` value alone."""
    body = payload.encode() if isinstance(payload, str) else bytes(payload)
    secrets = _secrets(secret)
    if isinstance(headers, str):
        _slt_check(body, headers, secrets, tolerance_s, now)
    else:
        lower = {name.lower(): value for name, value in headers.items()}
        if "webhook-signature" in lower:
            msg_id, timestamp = lower.get("webhook-id"), lower.get("webhook-timestamp")
            if not msg_id or not timestamp:
                raise WebhookVerificationError("webhook-id or webhook-timestamp is missing")
            ts = _fresh(timestamp, tolerance_s, now)
            given = [part.partition(",")[2] for part in lower["webhook-signature"].split() if part.startswith("v1,")]
            expected = [sign(s, msg_id, ts, body).partition(",")[2] for s in secrets]
            if not any(hmac.compare_digest(e, g) for e in expected for g in given):
                raise WebhookVerificationError("no signature matches: forged, altered, or signed with another secret")
        elif "x-slt-signature" in lower:
            _slt_check(body, lower["x-slt-signature"], secrets, tolerance_s, now)
        else:
            raise WebhookVerificationError("the request carries no webhook signature")
    try:
        event: dict[str, Any] = json.loads(body)
    except ValueError as exc:
        raise WebhookVerificationError("the signed body is not JSON") from exc
    return event
