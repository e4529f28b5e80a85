"""GET/POST /v1/users, GET /v1/users/{user_id}, POST /v1/users/{user_id}/disable|enable|password:
admin scope.

The API twin of the admin users page (``appliance/web/admin.py``) and of ``sealforge admin users``,
on the same service (``appliance.services.identity``), so a site without a shell on the box (the
image) still manages its people from a script. ``operator`` is never granted here. A caller
cannot disable its own user (one slip would lock the tenant's last admin out); an API key is no
user, so a key can disable any user of its tenant.
"""

from __future__ import annotations

from typing import Any

from appliance.api import context
from appliance.api.extensions import Blueprint, PageArgsSchema, requires
from appliance.api.users.schemas import (
    PasswordSchema,
    UserChangedSchema,
    UserCreateSchema,
    UserPageSchema,
    UserSchema,
)
from appliance.services import identity

blp = Blueprint("users", __name__, url_prefix="/v1/users", description="People of your tenant who log in.")


@blp.route("")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, UserPageSchema)
@requires("admin")
def list_users(args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's users, oldest first; never a password or its hash."""
    return identity.user_listing(context.get_db(), context.principal().tenant_id, args["limit"], args["after"])


@blp.route("", methods=["POST"])
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
@requires("admin")
def create_user(body: dict[str, Any]) -> dict[str, Any]:
    """A new user who logs in to the web UI (and `POST /v1/auth/login`) with this password.

    Emails are unique on the appliance (409 `CONFLICT`); scopes are `read`, `generate`, `admin`."""
    return identity.create_user(
        context.get_db(), context.principal().tenant_id, body["email"], body["password"], body["scopes"]
    )


@blp.route("/<string:user_id>")
@blp.response(200, UserSchema)
@requires("admin")
def get_user(user_id: str) -> dict[str, Any]:
    return identity.get_user(context.get_db(), context.principal().tenant_id, user_id)


def _set_disabled(user_id: str, disabled: bool) -> dict[str, Any]:
    who = context.principal()
    return identity.set_user_disabled(context.get_db(), who.tenant_id, user_id, disabled, acting_user_id=who.caller)


@blp.route("/<string:user_id>/disable", methods=["POST"])
@blp.response(200, UserChangedSchema)
@requires("admin")
def disable_user(user_id: str) -> dict[str, Any]:
    """Disable a user: its web UI sessions and refresh tokens end now, and it cannot log in.

    Access tokens already issued run out within `[auth] access_ttl_s`. Not your own user (400)."""
    return _set_disabled(user_id, True)


@blp.route("/<string:user_id>/enable", methods=["POST"])
@blp.response(200, UserChangedSchema)
@requires("admin")
def enable_user(user_id: str) -> dict[str, Any]:
    """Let a disabled user log in again."""
    return _set_disabled(user_id, False)


@blp.route("/<string:user_id>/password", methods=["POST"])
@blp.arguments(PasswordSchema)
@blp.response(200, UserChangedSchema)
@requires("admin")
def set_password(body: dict[str, Any], user_id: str) -> dict[str, Any]:
    """Give a user a new password; every web UI session and refresh token it has ends now."""
    return identity.set_user_password(context.get_db(), context.principal().tenant_id, user_id, body["password"])
