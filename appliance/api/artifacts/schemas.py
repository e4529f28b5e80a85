"""Schemas for artifacts."""

from __future__ import annotations

import marshmallow as ma

from appliance.api.extensions import PageArgsSchema, page_schema


class ArtifactSchema(ma.Schema):
    id = ma.fields.String()
    job_id = ma.fields.String()
    name = ma.fields.String()
    media_type = ma.fields.String()
    size = ma.fields.Integer()
    blake3 = ma.fields.String()
    created_at = ma.fields.String()
    _links = ma.fields.Dict(data_key="_links", attribute="_links")


class ArtifactListArgsSchema(PageArgsSchema):
    job_id = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))


ArtifactPageSchema = page_schema(ArtifactSchema, "ArtifactPageSchema")
