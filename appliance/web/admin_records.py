"""The admin pages (``admin`` scope) about what the appliance has recorded: credits and their
use, the audit log with its search and a check of its hash chain, and the signing keys with their
fingerprints.

The audit search shows the tenant's own entries; the chain check covers the whole log, since the
chain runs through every tenant's entries and a gap anywhere breaks it (it answers only whether it
holds, how many entries it covers and, if not, where it breaks). Credits are topped up by an
operator (``POST /v1/billing/topup``), so the page shows the form only to that scope.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import request

from appliance import errors
from appliance.api import context
from appliance.api.extensions import requires
from appliance.evidence import keys
from appliance.services import audit, credits
from appliance.web.blueprint import blp, page

AUDIT_PAGE = 50
_TEXT_MAX = 200
_CURSOR_MAX = 64


@blp.route("/admin/credits")
@requires("admin")
def admin_credits() -> str:
    """The balance, this month's use, use by kind, and the charges one page at a time."""
    after = request.args.get("after") or None
    if after is not None and len(after) > _CURSOR_MAX:
        raise errors.validation("after", f"at most {_CURSOR_MAX} characters")
    conn = context.get_db()
    tenant_id = context.principal().tenant_id
    return page(
        "admin_credits.html",
        billing=credits.billing(conn, tenant_id, datetime.now(UTC)),
        usage=credits.usage_history(conn, tenant_id, AUDIT_PAGE, after),
    )


def _audit_filters() -> tuple[str, int | None, int | None]:
    text = request.args.get("q", "").strip()
    if len(text) > _TEXT_MAX:
        raise errors.validation("q", f"at most {_TEXT_MAX} characters")
    numbers: list[int | None] = []
    for name, low, high in (("status", 100, 599), ("before", 1, 2**63 - 1)):
        raw = request.args.get(name, "").strip()
        if not raw:
            numbers.append(None)
            continue
        try:
            value = int(raw)
        except ValueError:
            raise errors.validation(name, "a whole number") from None
        if not low <= value <= high:
            raise errors.validation(name, f"between {low} and {high}")
        numbers.append(value)
    return text, numbers[0], numbers[1]


@blp.route("/admin/audit")
@requires("admin")
def admin_audit() -> str:
    """The tenant's audit entries, newest first, searched by text and status."""
    text, status, before = _audit_filters()
    found = audit.search(context.get_db(), context.principal().tenant_id, text, status, before, AUDIT_PAGE)
    template = "_audit_table.html" if request.headers.get("HX-Target") == "audit-table" else "admin_audit.html"
    return page(template, found=found, q=text, status=status)


@blp.route("/admin/audit/verify")
@requires("admin")
def admin_audit_verify() -> str:
    """Walk the whole chain, as ``sealforge admin audit verify`` does; a fragment for the page."""
    return page("_audit_verify.html", report=audit.verify_chain(context.get_db()).as_dict())


@blp.route("/admin/signing-keys")
@requires("admin")
def admin_signing_keys() -> str:
    """The Ed25519 keys the appliance seals with (the active one and those retired), with fingerprints."""
    return page("admin_signing_keys.html", signing_keys=keys.list_with_fingerprints(context.get_db()))
