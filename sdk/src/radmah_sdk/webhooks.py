"""The published `verify(payload, sig, key)` helper: check a webhook delivery's signature and its
5-minute replay window before acting on it. The same function as `sealforge_client.webhooks.verify`
(one implementation for both clients); see there for what it accepts."""

from sealforge_client.webhooks import TOLERANCE_S, WebhookVerificationError, sign, verify

__all__ = ["TOLERANCE_S", "WebhookVerificationError", "sign", "verify"]
