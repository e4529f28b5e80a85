"""Schemas for the auth routes."""

from __future__ import annotations

import marshmallow as ma


class LoginSchema(ma.Schema):
    email = ma.fields.Email(required=True)
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1024), load_only=True)


class RefreshSchema(ma.Schema):
    refresh_token = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=512))


class LogoutSchema(ma.Schema):
    refresh_token = ma.fields.String(validate=ma.validate.Length(min=1, max=512))


class TokenSchema(ma.Schema):
    access_token = ma.fields.String()
    token_type = ma.fields.String()
    expires_in = ma.fields.Integer()
    refresh_token = ma.fields.String()
    scopes = ma.fields.List(ma.fields.String())
    tenant_id = ma.fields.String()


class WhoamiSchema(ma.Schema):
    tenant_id = ma.fields.String()
    caller = ma.fields.String(metadata={"description": "The key or user id"})
    kind = ma.fields.String(metadata={"description": "`key` or `user`"})
    scopes = ma.fields.List(ma.fields.String(), metadata={"description": "Granted scopes"})
    effective_scopes = ma.fields.List(ma.fields.String())
