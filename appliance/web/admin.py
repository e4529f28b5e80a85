"""The admin pages (``admin`` scope) about who may use the appliance: the tenant's API keys, made
and revoked through the same service as ``/v1/keys``, and its users, made and disabled through the
service the ``sealforge admin users`` CLI uses; ``operator`` is never granted from here.
"""

from __future__ import annotations

from typing import Any

from flask import request

from appliance.api import context
from appliance.api.extensions import accepts_body, requires
from appliance.errors import AppError
from appliance.services import identity
from appliance.services.principal import TENANT_SCOPES
from appliance.web.blueprint import blp, page


def _keys_page(created: dict[str, Any] | None = None, status: int = 200, problem: str = "") -> tuple[str, int]:
    keys = identity.list_keys(context.get_db(), context.principal().tenant_id)
    return page("admin_keys.html", keys=keys, scopes=TENANT_SCOPES, created=created, problem=problem), status


@blp.route("/admin/keys")
@requires("admin")
def admin_keys() -> tuple[str, int]:
    """The tenant's API keys, live and revoked."""
    return _keys_page()


@blp.route("/admin/keys", methods=["POST"])
@requires("admin")
@accepts_body("form")
def admin_create_key() -> tuple[str, int]:
    """A new key; its secret is shown on this one answer and never again."""
    try:
        created = identity.create_key(
            context.get_db(),
            context.principal().tenant_id,
            request.form.getlist("scopes"),
            request.form.get("name", "").strip(),
        )
    except AppError as exc:
        if exc.status != 400:
            raise
        return _keys_page(status=400, problem=exc.message)
    return _keys_page(created, 201)


@blp.route("/admin/keys/<string:key_id>/revoke", methods=["POST"])
@requires("admin")
@accepts_body("form")
def admin_revoke_key(key_id: str) -> tuple[str, int]:
    """Revoke a key: it stops working on the next request in every API process."""
    identity.revoke_key(context.get_db(), context.principal().tenant_id, key_id)
    return _keys_page()


def _users_page(created: dict[str, Any] | None = None, status: int = 200, problem: str = "") -> tuple[str, int]:
    users = identity.list_users(context.get_db(), context.principal().tenant_id)
    me = context.principal().caller
    return page("admin_users.html", users=users, scopes=TENANT_SCOPES, created=created, problem=problem, me=me), status


@blp.route("/admin/users")
@requires("admin")
def admin_users() -> tuple[str, int]:
    """The tenant's users: who can log in to these pages, with which scopes."""
    return _users_page()


@blp.route("/admin/users", methods=["POST"])
@requires("admin")
@accepts_body("form")
def admin_create_user() -> tuple[str, int]:
    """A new user with a password the admin hands over (at least 12 characters)."""
    try:
        created = identity.create_user(
            context.get_db(),
            context.principal().tenant_id,
            request.form.get("email", ""),
            request.form.get("password", ""),
            request.form.getlist("scopes"),
        )
    except AppError as exc:
        if exc.status not in (400, 409):
            raise
        return _users_page(status=exc.status, problem=exc.message)
    return _users_page(created, 201)


def _set_disabled(user_id: str, disabled: bool) -> tuple[str, int]:
    who = context.principal()
    identity.set_user_disabled(context.get_db(), who.tenant_id, user_id, disabled, acting_user_id=who.caller)
    return _users_page()


@blp.route("/admin/users/<string:user_id>/disable", methods=["POST"])
@requires("admin")
@accepts_body("form")
def admin_disable_user(user_id: str) -> tuple[str, int]:
    """Disable a user: its sessions end now and it cannot log in until enabled again."""
    return _set_disabled(user_id, True)


@blp.route("/admin/users/<string:user_id>/enable", methods=["POST"])
@requires("admin")
@accepts_body("form")
def admin_enable_user(user_id: str) -> tuple[str, int]:
    return _set_disabled(user_id, False)
