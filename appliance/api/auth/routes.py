"""POST /v1/auth/login, /refresh, /logout and GET /v1/auth/whoami."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from appliance.api import context
from appliance.api.auth.schemas import LoginSchema, LogoutSchema, RefreshSchema, TokenSchema, WhoamiSchema
from appliance.api.extensions import Blueprint, requires
from appliance.services import tokens
from appliance.services.login_throttle import LoginThrottle
from appliance.services.principal import SCOPES

blp = Blueprint("auth", __name__, url_prefix="/v1/auth", description="Bearer tokens for people.")


@blp.route("/login", methods=["POST"])
@blp.arguments(LoginSchema)
@blp.response(200, TokenSchema)
@requires(None)
def login(body: dict[str, Any]) -> dict[str, Any]:
    """Exchange an email and password for an access token and a refresh token.

    Failed logins back off per account and per client address (429 `LOGIN_THROTTLED` with
    `Retry-After`); while throttled, even the right password is refused."""
    cfg = context.config()["auth"]
    throttle = LoginThrottle(context.state_dir(), cfg)
    source = request.remote_addr or ""
    return tokens.login(context.get_db(), body["email"], body["password"], context.keys_dir(), cfg, throttle, source)


@blp.route("/refresh", methods=["POST"])
@blp.arguments(RefreshSchema)
@blp.response(200, TokenSchema)
@requires(None)
def refresh(body: dict[str, Any]) -> dict[str, Any]:
    """Trade a refresh token for new tokens; the old refresh token stops working."""
    return tokens.refresh(context.get_db(), body["refresh_token"], context.keys_dir(), context.config()["auth"])


@blp.route("/logout", methods=["POST"])
@blp.arguments(LogoutSchema)
@blp.response(204)
@requires("read")
def logout(body: dict[str, Any]) -> None:
    """Revoke the access token in use, and the refresh token if given."""
    tokens.logout(context.get_db(), context.principal(), body.get("refresh_token"))


@blp.route("/whoami")
@blp.response(200, WhoamiSchema)
@requires("read")
def whoami() -> Response:
    """The tenant and scopes of the credentials in use."""
    who = context.principal()
    # Already plain strings and lists in the schema's field order, so WhoamiSchema (which still
    # documents the answer) would dump it unchanged: answered directly, this hot route skips the
    # marshmallow pass flask-smorest makes for every non-Response return value.
    return jsonify(
        {
            "tenant_id": who.tenant_id,
            "caller": who.caller,
            "kind": who.kind,
            "scopes": list(who.granted),
            "effective_scopes": [s for s in SCOPES if s in who.scopes],
        }
    )
