"""Signatures: the Standard Webhooks known-answer vector (../shared/testdata/README.md), agreement
with the `standardwebhooks` library, and the pages' X-SLT-Signature."""

from __future__ import annotations

import re

from standardwebhooks.webhooks import Webhook

from appliance.services.webhooks import signing

VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_standard_webhooks_known_answer_vector() -> None:
    assert signing.sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE


def test_the_library_computes_the_same_signature() -> None:
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(VECTOR_TS, UTC)
    assert Webhook(VECTOR_SECRET).sign(VECTOR_ID, when, VECTOR_BODY.decode()) == VECTOR_SIGNATURE


def test_new_secrets_are_whsec_and_distinct() -> None:
    made = {signing.new_secret() for _ in range(20)}
    assert len(made) == 20 and all(re.fullmatch(r"whsec_[A-Za-z0-9+/]{32}", s) for s in made)


def test_headers_carry_one_signature_per_live_secret() -> None:
    first, second = signing.new_secret(), signing.new_secret()
    headers = signing.headers([first, second], "msg_1", "job.succeeded", 1700000000, b"{}")
    assert headers["webhook-id"] == "msg_1" and headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"].split() == [
        signing.sign(first, "msg_1", 1700000000, b"{}"),
        signing.sign(second, "msg_1", 1700000000, b"{}"),
    ]
    assert headers["X-SLT-Event"] == "job.succeeded"
    slt = headers["X-SLT-Signature"]
    assert slt == (
        f"blake3={signing.slt_sign(first, 1700000000, b'{}')} blake3={signing.slt_sign(second, 1700000000, b'{}')}"
        " ts=1700000000"
    )


def test_the_slt_signature_is_keyed_blake3_of_timestamp_and_body() -> None:
    import blake3

    key = blake3.blake3(signing.secret_key(VECTOR_SECRET), derive_key_context=signing.SLT_KEY_CONTEXT).digest()
    expected = blake3.blake3(b"1614265330." + VECTOR_BODY, key=key).hexdigest()
    assert signing.slt_sign(VECTOR_SECRET, VECTOR_TS, VECTOR_BODY) == expected
    assert signing.slt_sign(VECTOR_SECRET, VECTOR_TS + 1, VECTOR_BODY) != expected
