"""Schemas for API keys."""

from __future__ import annotations

import marshmallow as ma

from appliance.api.extensions import page_schema
from appliance.services.identity import OPERATOR_ONLY_BY_CLI
from appliance.services.principal import TENANT_SCOPES

_SCOPE_CHOICE = ma.validate.OneOf(TENANT_SCOPES, error="Must be one of: {choices}; " + OPERATOR_ONLY_BY_CLI + ".")


class KeyCreateSchema(ma.Schema):
    name = ma.fields.String(load_default="", validate=ma.validate.Length(max=100))
    scopes = ma.fields.List(
        ma.fields.String(validate=_SCOPE_CHOICE),
        required=True,
        validate=ma.validate.Length(min=1, max=len(TENANT_SCOPES)),
    )


class KeySchema(ma.Schema):
    id = ma.fields.String()
    tenant_id = ma.fields.String()
    name = ma.fields.String()
    prefix = ma.fields.String(metadata={"description": "First characters of the key, to recognise it"})
    scopes = ma.fields.List(ma.fields.String())
    created_at = ma.fields.String()
    revoked_at = ma.fields.String(allow_none=True)


class KeyCreatedSchema(KeySchema):
    api_key = ma.fields.String(metadata={"description": "The key itself; shown once, never stored"})


KeyPageSchema = page_schema(KeySchema, "KeyPageSchema")
