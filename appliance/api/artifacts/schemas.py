"""Schemas for artifacts."""

from __future__ import annotations

import marshmallow as ma

from appliance.api.extensions import PageArgsSchema, page_schema
from appliance.services.artifacts import ARTIFACT_TYPES


class ArtifactSchema(ma.Schema):
    id = ma.fields.String()
    job_id = ma.fields.String()
    name = ma.fields.String()
    media_type = ma.fields.String()
    size = ma.fields.Integer()
    blake3 = ma.fields.String(metadata={"description": "Hex BLAKE3 of the bytes (also the download's ETag)"})
    content_hash = ma.fields.String(metadata={"description": "The same BLAKE3 as `blake3`, under the published name"})
    artifact_type = ma.fields.String(
        validate=ma.validate.OneOf(ARTIFACT_TYPES),
        metadata={"description": "What the file is, from its name and media type; see docs/api.md"},
    )
    created_at = ma.fields.String()
    _links = ma.fields.Dict(data_key="_links", attribute="_links")


class ArtifactListArgsSchema(PageArgsSchema):
    job_id = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))


ArtifactPageSchema = page_schema(ArtifactSchema, "ArtifactPageSchema")
