"""The admin pages (``admin`` scope): the tenant's API keys, made and revoked through the same
service as ``/v1/keys``, with the same rule that ``operator`` is never granted from here.
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
