"""verify() of both clients: the known-answer vector, fresh and stale, future, forged, either
secret during a rotation, the pages' X-SLT-Signature form, and what it refuses to guess."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import pytest
import radmah_sdk
import sealforge_client.webhooks as client_webhooks
from sealforge_client.webhooks import WebhookVerificationError, sign, verify

from appliance.services.webhooks import signing

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TS = 1614265330
BODY = b'{"test": 2432232314}'


def headers(signing_secrets: list[str], body: bytes = BODY, ts: int = TS) -> dict[str, str]:
    """What the appliance sends (its own signer), in the letter case a server might pass on."""
    return {k.title(): v for k, v in signing.headers(signing_secrets, MSG_ID, "webhook.test", ts, body).items()}


def test_the_known_answer_vector_and_a_fresh_message() -> None:
    assert sign(SECRET, MSG_ID, TS, BODY) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    vector = {"webhook-id": MSG_ID, "webhook-timestamp": str(TS), "webhook-signature": sign(SECRET, MSG_ID, TS, BODY)}
    assert verify(BODY, vector, SECRET, now=TS + 10) == {"test": 2432232314}
    assert radmah_sdk.verify(BODY.decode(), vector, SECRET, now=TS) == {"test": 2432232314}
    assert radmah_sdk.verify is client_webhooks.verify


@pytest.mark.parametrize(
    ("now", "message"),
    [(TS + 301, "older than 300 s"), (TS - 301, "ahead"), (TS + 300, None), (TS - 300, None)],
)
def test_the_five_minute_window(now: int, message: str | None) -> None:
    if message is None:
        verify(BODY, headers([SECRET]), SECRET, now=now)
    else:
        with pytest.raises(WebhookVerificationError, match=message):
            verify(BODY, headers([SECRET]), SECRET, now=now)
        with pytest.raises(WebhookVerificationError, match=message):
            verify(BODY, headers([SECRET])["X-Slt-Signature"], SECRET, now=now)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b + b" "),
        lambda h, b: ({**h, "Webhook-Id": "msg_other"}, b),
        lambda h, b: ({**h, "Webhook-Timestamp": str(TS + 1)}, b),
        lambda h, b: ({**h, "Webhook-Signature": "v1," + base64.b64encode(secrets.token_bytes(32)).decode()}, b),
        lambda h, b: ({**h, "Webhook-Signature": "v2,whatever"}, b),
    ],
)
def test_forgeries_are_refused(tamper: Any) -> None:
    forged_headers, forged_body = tamper(headers([SECRET]), BODY)
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify(forged_body, forged_headers, SECRET, now=TS)


def test_another_secret_does_not_verify_and_either_rotation_secret_does() -> None:
    old, new, stranger = signing.new_secret(), signing.new_secret(), signing.new_secret()
    both = headers([new, old])
    assert verify(BODY, both, old, now=TS) == verify(BODY, both, new, now=TS)
    assert verify(BODY, both["X-Slt-Signature"], old, now=TS) == {"test": 2432232314}
    verify(BODY, both, [stranger, new], now=TS)
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify(BODY, both, stranger, now=TS)
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify(BODY, {"X-SLT-Signature": both["X-Slt-Signature"]}, stranger, now=TS)


@pytest.mark.parametrize(
    ("given", "secret", "message"),
    [
        ({}, SECRET, "no webhook signature"),
        ({"webhook-signature": "v1,x"}, SECRET, "webhook-id or webhook-timestamp is missing"),
        ({"webhook-id": "m", "webhook-timestamp": "soon", "webhook-signature": "v1,x"}, SECRET, "not a number"),
        ("blake3=ab", SECRET, "not `blake3=<hex> ts=<timestamp>`"),
        ("blake3=ab ts=1 ts=2", SECRET, "not `blake3=<hex> ts=<timestamp>`"),
        ({"webhook-id": "m", "webhook-timestamp": str(TS), "webhook-signature": "v1,x"}, "whsec_%%%", "not a whsec_"),
        ({"webhook-id": "m", "webhook-timestamp": str(TS), "webhook-signature": "v1,x"}, [], "no secret"),
    ],
)
def test_bad_input_is_refused_with_a_reason(given: Any, secret: Any, message: str) -> None:
    with pytest.raises(WebhookVerificationError, match=message):
        verify(BODY, given, secret, now=TS)


def test_a_signed_body_that_is_not_json() -> None:
    with pytest.raises(WebhookVerificationError, match="not JSON"):
        verify(b"plain", headers([SECRET], body=b"plain"), SECRET, now=TS)
