"""GET/POST /v1/system/updates and POST /v1/system/reboot: operator scope.

The API never writes the disk: it checks an uploaded bundle as it streams in and queues it for the
root updater (``sealforge-update.service``), which applies it to the slot not running and reports
back in ``<state>/updates/status.json`` (appliance/services/system_update/inbox.py). Outside the
signed OS image every route answers 409 ``UPDATES_UNAVAILABLE``.
"""

from __future__ import annotations

from typing import Any

from flask import g, request

from appliance.api import context
from appliance.api.extensions import Blueprint, accepts_body, requires
from appliance.api.system.schemas import UpdateRequestSchema, UpdatesStatusSchema, UploadArgsSchema
from appliance.errors import PAYLOAD_TOO_LARGE, AppError
from appliance.services.system_update import inbox

blp = Blueprint("system", __name__, url_prefix="/v1/system", description="The appliance's OS image: updates, reboot.")
BUNDLE_BODY = {
    "required": True,
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


def _settings() -> inbox.Settings:
    return inbox.Settings.from_config(context.config())


@blp.route("/updates")
@blp.response(200, UpdatesStatusSchema)
@requires("operator")
def update_status() -> dict[str, Any]:
    """The running release, queued requests, the A/B slots and the last update with how its trial
    boot went (as the root updater last saw them: it looks at every boot and after every apply)."""
    return inbox.status(context.state_dir(), _settings())


@blp.route("/updates", methods=["POST"])
@blp.arguments(UploadArgsSchema, location="query")
@blp.response(202, UpdateRequestSchema)
@blp.doc(
    requestBody=BUNDLE_BODY,
    description="Send a `sealforge-<SERIAL>.sfbundle` (`make image-bundle`) as the raw body. It is checked as it "
    "arrives, against the release key in the image: signature (400 `UPDATE_BUNDLE_INVALID`, nothing kept), serial "
    "newer than the running one (409 `UPDATE_NOT_NEWER` unless `allow_downgrade=true`), every member's hash; then "
    "queued, and the root updater writes it to the slot not running with `tries` trial boots. `reboot=true` reboots "
    "into the trial once it is written; otherwise POST /v1/system/reboot. GET /v1/system/updates shows the result. "
    "One request at a time (409 `UPDATE_IN_PROGRESS`); over `[image] max_bundle_bytes`: 413.",
)
@accepts_body("raw")
@requires("operator")
def upload_update(args: dict[str, Any]) -> dict[str, Any]:
    """Upload a signed update bundle."""
    settings = _settings()
    if request.content_length is not None and request.content_length > settings.max_bundle_bytes:
        raise AppError(
            PAYLOAD_TOO_LARGE, f"the bundle is larger than [image] max_bundle_bytes ({settings.max_bundle_bytes})"
        )
    queued = inbox.receive(
        context.state_dir(),
        settings,
        request.stream,
        tries=args["tries"],
        reboot=args["reboot"],
        allow_downgrade=args["allow_downgrade"],
        caller=context.principal().caller,
    )
    g.body_blake3 = queued["blake3"]
    return queued


@blp.route("/reboot", methods=["POST"])
@blp.response(202, UpdateRequestSchema)
@requires("operator")
def reboot() -> dict[str, Any]:
    """Reboot the appliance (into an applied update's trial, when there is one): the root updater
    does it within seconds. Jobs running are handed back and run again after the boot."""
    return inbox.request_reboot(context.state_dir(), _settings(), context.principal().caller)
