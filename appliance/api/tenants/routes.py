"""GET /v1/tenants/current."""

from __future__ import annotations

from typing import Any

from appliance.api import context
from appliance.api.extensions import Blueprint, requires
from appliance.api.tenants.schemas import TenantSchema
from appliance.services import identity

blp = Blueprint("tenants", __name__, url_prefix="/v1/tenants", description="Your tenant.")


@blp.route("/current")
@blp.response(200, TenantSchema)
@requires("read")
def current_tenant() -> dict[str, Any]:
    """The tenant of the credentials in use, with its credit balance."""
    row = identity.require_tenant(context.get_db(), context.principal().tenant_id)
    return identity.public_tenant_row(row)
