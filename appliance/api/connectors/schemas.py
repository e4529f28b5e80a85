"""Schemas for connectors. Settings, credentials, sources and targets are objects here: each
type's own schema checks them in the service, so the fields named at fault carry their path."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from appliance.api.extensions import DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, page_schema
from appliance.services.connectors import TYPES

_NAME = ma.validate.Length(min=1, max=200)
_TYPES_HELP = "One of: " + ", ".join(sorted(TYPES)) + " (GET /v1/connectors/types says which are available)"
_CREDENTIALS_HELP = "Write-only: stored encrypted, never returned (password, secret key…; see docs/connectors.md)"


class ConnectorCreateSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=_NAME)
    type = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=40), metadata={"description": _TYPES_HELP}
    )
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
    settings = ma.fields.Dict(load_default=dict, metadata={"description": "The type's settings (docs/connectors.md)"})
    credentials = ma.fields.Dict(load_default=dict, load_only=True, metadata={"description": _CREDENTIALS_HELP})


class ConnectorUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=_NAME)
    description = ma.fields.String(validate=ma.validate.Length(max=500))
    settings = ma.fields.Dict(metadata={"description": "Replaces the settings whole"})
    credentials = ma.fields.Dict(load_only=True, metadata={"description": _CREDENTIALS_HELP + "; replaces them"})

    @ma.validates_schema
    def not_empty(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ma.ValidationError("name at least one of name, description, settings, credentials", "_schema")


class ConnectorCredentialsSchema(ma.Schema):
    credentials = ma.fields.Dict(required=True, load_only=True, metadata={"description": _CREDENTIALS_HELP})


class ConnectorSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    type = ma.fields.String()
    description = ma.fields.String()
    settings = ma.fields.Dict()
    has_credentials = ma.fields.Boolean(metadata={"description": "Whether credentials are stored (never shown)"})
    credentials_updated_at = ma.fields.String(allow_none=True)
    last_test = ma.fields.Dict(allow_none=True)
    created_at = ma.fields.String()
    updated_at = ma.fields.String()
    _links = ma.fields.Dict(data_key="_links", attribute="_links")


ConnectorPageSchema = page_schema(ConnectorSchema, "ConnectorPageSchema")


class ConnectorTypeSchema(ma.Schema):
    type = ma.fields.String()
    summary = ma.fields.String()
    available = ma.fields.Boolean()
    settings = ma.fields.List(ma.fields.String())
    credentials = ma.fields.List(ma.fields.String())
    can_write = ma.fields.Boolean()


class ConnectorTypeListSchema(ma.Schema):
    data = ma.fields.List(ma.fields.Nested(ConnectorTypeSchema))
    count = ma.fields.Integer()


class ConnectorTestResultSchema(ma.Schema):
    ok = ma.fields.Boolean()
    diagnosis = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "dns, refused, unreachable, timeout, tls, auth, permission, not_found, not_allowed, "
            "invalid, protocol"
        },
    )
    message = ma.fields.String()
    hint = ma.fields.String()
    details = ma.fields.Dict()
    elapsed_ms = ma.fields.Float()
    tested_at = ma.fields.String()


class ConnectorBrowseArgsSchema(ma.Schema):
    path = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=1024),
        metadata={"description": "Where to look: empty for the top (schemas, folders…), or an entry's `path`"},
    )
    limit = ma.fields.Integer(load_default=DEFAULT_PAGE_LIMIT, validate=ma.validate.Range(min=1, max=MAX_PAGE_LIMIT))
    after = ma.fields.String(load_default=None, validate=ma.validate.Length(max=1024))


class ConnectorEntrySchema(ma.Schema):
    name = ma.fields.String()
    path = ma.fields.String()
    kind = ma.fields.String()
    size = ma.fields.Integer(allow_none=True)
    children = ma.fields.Boolean()
    detail = ma.fields.Dict()


class ConnectorBrowsePageSchema(ma.Schema):
    path = ma.fields.String()
    data = ma.fields.List(ma.fields.Nested(ConnectorEntrySchema))
    count = ma.fields.Integer()
    has_more = ma.fields.Boolean()
    next_after = ma.fields.String(allow_none=True)


class ConnectorImportSchema(ma.Schema):
    source = ma.fields.Dict(
        required=True,
        metadata={"description": "What to read: a table, query, file… (the type's source fields, docs/connectors.md)"},
    )
    name = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=200),
        metadata={"description": "The dataset's name (the format's extension is added)"},
    )
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class ConnectorDeliverSchema(ma.Schema):
    job_id = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^job_[0-9A-Z]{26}$"))
    artifacts = ma.fields.List(
        ma.fields.String(validate=_NAME),
        load_default=list,
        metadata={"description": "Artifact names to deliver; all of the job's when empty"},
    )
    target = ma.fields.Dict(required=True, metadata={"description": "Where to write (the type's target fields)"})
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
