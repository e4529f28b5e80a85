"""Schemas for webhook endpoints and deliveries."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from appliance.api.extensions import page_schema
from appliance.services.webhooks.destinations import MAX_URL_LENGTH
from appliance.services.webhooks.outbox import EVENT_TYPES

_EVENTS_HELP = (
    "Event types to receive: " + ", ".join(EVENT_TYPES) + "; or a pattern: `*` (every event), `job.*`, `scada.*`…"
)
_URL_HELP = "http(s) URL on the plant network, within `[webhooks] allowed_networks` or `allowed_hosts`"


def _url(required: bool) -> ma.fields.String:
    return ma.fields.String(
        required=required, validate=ma.validate.Length(min=1, max=MAX_URL_LENGTH), metadata={"description": _URL_HELP}
    )


def _events(required: bool) -> ma.fields.List:
    return ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=100)),
        required=required,
        validate=ma.validate.Length(min=1, max=50),
        metadata={"description": _EVENTS_HELP},
    )


class WebhookCreateSchema(ma.Schema):
    url = _url(required=True)
    events = _events(required=True)
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
    enabled = ma.fields.Boolean(load_default=True)


class WebhookUpdateSchema(ma.Schema):
    url = _url(required=False)
    events = _events(required=False)
    description = ma.fields.String(validate=ma.validate.Length(max=500))
    enabled = ma.fields.Boolean(
        metadata={"description": "false pauses deliveries; true resumes a failing or disabled endpoint"}
    )

    @ma.validates_schema
    def not_empty(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ma.ValidationError("name at least one of url, events, description, enabled", "_schema")


class WebhookSchema(ma.Schema):
    id = ma.fields.String()
    url = ma.fields.String()
    description = ma.fields.String()
    events = ma.fields.List(ma.fields.String())
    enabled = ma.fields.Boolean()
    status = ma.fields.String(metadata={"description": "active, failing (repeated failures), or disabled (410 Gone)"})
    status_reason = ma.fields.String(allow_none=True)
    failing_since = ma.fields.String(allow_none=True)
    consecutive_failures = ma.fields.Integer()
    last_success_at = ma.fields.String(allow_none=True)
    last_failure_at = ma.fields.String(allow_none=True)
    previous_secret_valid_until = ma.fields.String(
        allow_none=True, metadata={"description": "Until then the secret before the last rotation signs as well"}
    )
    created_at = ma.fields.String()
    updated_at = ma.fields.String()
    _links = ma.fields.Dict(data_key="_links", attribute="_links")


class WebhookWithSecretSchema(WebhookSchema):
    secret = ma.fields.String(metadata={"description": "The signing secret (whsec_…); shown in this answer only"})


class AttemptSchema(ma.Schema):
    attempt = ma.fields.Integer()
    started_at = ma.fields.String()
    status_code = ma.fields.Integer(allow_none=True)
    latency_ms = ma.fields.Float(allow_none=True)
    error = ma.fields.String(allow_none=True)
    response_excerpt = ma.fields.String(allow_none=True)
    next_retry_at = ma.fields.String(allow_none=True)


class DeliverySchema(ma.Schema):
    id = ma.fields.String()
    endpoint_id = ma.fields.String()
    message_id = ma.fields.String(metadata={"description": "The `webhook-id` header: the same on every attempt"})
    event = ma.fields.String()
    event_created_at = ma.fields.String()
    state = ma.fields.String(metadata={"description": "pending, delivered, or failed (given up)"})
    attempt_count = ma.fields.Integer()
    next_retry_at = ma.fields.String(allow_none=True)
    last_status_code = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    created_at = ma.fields.String()
    finished_at = ma.fields.String(allow_none=True)
    attempts = ma.fields.List(ma.fields.Nested(AttemptSchema))


WebhookPageSchema = page_schema(WebhookSchema, "WebhookPageSchema")
DeliveryPageSchema = page_schema(DeliverySchema, "DeliveryPageSchema")
