"""/v1/webhooks: register endpoints, rotate their secrets, read and replay their delivery log.

Managing endpoints needs `admin`; reading them and their deliveries needs `read`. The secret is in
the answers of POST /v1/webhooks and POST /v1/webhooks/{id}/rotate only.
"""

from __future__ import annotations

from typing import Any

from appliance.api import context
from appliance.api.extensions import Blueprint, PageArgsSchema, requires
from appliance.api.webhooks.schemas import (
    DeliveryPageSchema,
    DeliverySchema,
    WebhookCreateSchema,
    WebhookPageSchema,
    WebhookSchema,
    WebhookUpdateSchema,
    WebhookWithSecretSchema,
)
from appliance.services.webhooks import endpoints
from appliance.services.webhooks.settings import Settings

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/v1/webhooks",
    description="Signed events to systems on the plant network (docs/webhooks.md).",
)


def _settings() -> Settings:
    return Settings.from_config(context.config())


def _tenant() -> str:
    return context.principal().tenant_id


@blp.route("")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, WebhookPageSchema)
@requires("read")
def list_webhooks(args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's endpoints, oldest first (without their secrets)."""
    return endpoints.listing(context.get_db(), _tenant(), args["limit"], args["after"])


@blp.route("", methods=["POST"])
@blp.arguments(WebhookCreateSchema)
@blp.response(201, WebhookWithSecretSchema)
@requires("admin")
def create_webhook(body: dict[str, Any]) -> dict[str, Any]:
    """Register an endpoint. Its URL must be on an allowed network (400 WEBHOOK_URL_NOT_ALLOWED);
    the answer carries the signing secret, shown this once."""
    return endpoints.create(context.get_db(), context.keys_dir(), _settings(), _tenant(), body)


@blp.route("/<string:webhook_id>")
@blp.response(200, WebhookSchema)
@requires("read")
def get_webhook(webhook_id: str) -> dict[str, Any]:
    return endpoints.get(context.get_db(), _tenant(), webhook_id)


@blp.route("/<string:webhook_id>", methods=["PATCH"])
@blp.arguments(WebhookUpdateSchema)
@blp.response(200, WebhookSchema)
@requires("admin")
def update_webhook(body: dict[str, Any], webhook_id: str) -> dict[str, Any]:
    """Change the URL, events, description, or `enabled` (true also resumes a failing or disabled endpoint)."""
    return endpoints.update(context.get_db(), _settings(), _tenant(), webhook_id, body)


@blp.route("/<string:webhook_id>", methods=["DELETE"])
@blp.response(200, WebhookSchema)
@requires("admin")
def delete_webhook(webhook_id: str) -> dict[str, Any]:
    """Remove the endpoint and its delivery log; deliveries not yet made are dropped."""
    return endpoints.delete(context.get_db(), _tenant(), webhook_id)


@blp.route("/<string:webhook_id>/rotate", methods=["POST"])
@blp.response(200, WebhookWithSecretSchema)
@requires("admin")
def rotate_webhook_secret(webhook_id: str) -> dict[str, Any]:
    """A new secret, shown this once; the previous one keeps signing until `previous_secret_valid_until`."""
    return endpoints.rotate(context.get_db(), context.keys_dir(), _settings(), _tenant(), webhook_id)


@blp.route("/<string:webhook_id>/test", methods=["POST"])
@blp.response(202, DeliverySchema)
@requires("admin")
def test_webhook(webhook_id: str) -> dict[str, Any]:
    """Send a `webhook.test` ping to this endpoint; follow it in the delivery log."""
    return endpoints.send_test(context.get_db(), _tenant(), webhook_id)


@blp.route("/<string:webhook_id>/deliveries")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, DeliveryPageSchema)
@requires("read")
def list_deliveries(args: dict[str, Any], webhook_id: str) -> dict[str, Any]:
    """The delivery log, newest first: each delivery with every attempt (status code, latency,
    error, the start of the answer, when the next try is due)."""
    return endpoints.deliveries(context.get_db(), _tenant(), webhook_id, args["limit"], args["after"])


@blp.route("/<string:webhook_id>/deliveries/<string:delivery_id>")
@blp.response(200, DeliverySchema)
@requires("read")
def get_delivery(webhook_id: str, delivery_id: str) -> dict[str, Any]:
    return endpoints.get_delivery(context.get_db(), _tenant(), webhook_id, delivery_id)


@blp.route("/<string:webhook_id>/deliveries/<string:delivery_id>/redeliver", methods=["POST"])
@blp.response(202, DeliverySchema)
@requires("admin")
def redeliver(webhook_id: str, delivery_id: str) -> dict[str, Any]:
    """Send the delivery's message again now, with the same `webhook-id` (receivers deduplicate on it)."""
    return endpoints.redeliver(context.get_db(), _tenant(), webhook_id, delivery_id)
