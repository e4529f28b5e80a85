"""Schemas for users: the same fields the admin users page and ``sealforge admin users`` use."""

from __future__ import annotations

import marshmallow as ma

from appliance.api.extensions import page_schema
from appliance.services.identity import OPERATOR_ONLY_BY_CLI, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS
from appliance.services.principal import TENANT_SCOPES

_SCOPE_CHOICE = ma.validate.OneOf(TENANT_SCOPES, error="Must be one of: {choices}; " + OPERATOR_ONLY_BY_CLI + ".")
_PASSWORD = ma.validate.Length(
    min=PASSWORD_MIN_CHARS, max=PASSWORD_MAX_CHARS, error="A password is {min} to {max} characters."
)


class UserCreateSchema(ma.Schema):
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=254))
    password = ma.fields.String(required=True, load_only=True, validate=_PASSWORD)
    scopes = ma.fields.List(
        ma.fields.String(validate=_SCOPE_CHOICE),
        required=True,
        validate=ma.validate.Length(min=1, max=len(TENANT_SCOPES)),
    )


class PasswordSchema(ma.Schema):
    password = ma.fields.String(required=True, load_only=True, validate=_PASSWORD)


class UserSchema(ma.Schema):
    id = ma.fields.String()
    tenant_id = ma.fields.String()
    email = ma.fields.String()
    scopes = ma.fields.List(ma.fields.String())
    disabled = ma.fields.Boolean(metadata={"description": "A disabled user cannot log in; its sessions ended"})
    created_at = ma.fields.String()


class UserChangedSchema(UserSchema):
    sessions_ended = ma.fields.Integer(
        metadata={"description": "Web UI sessions and refresh tokens of the user that this change ended"}
    )


UserPageSchema = page_schema(UserSchema, "UserPageSchema")
