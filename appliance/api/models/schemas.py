"""Schemas for trained models."""

from __future__ import annotations

import marshmallow as ma

from appliance.api.extensions import PageArgsSchema, page_schema


class ModelColumnSchema(ma.Schema):
    table = ma.fields.String(metadata={"description": "Multi-table (hma) models: the table the column is in"})
    name = ma.fields.String()
    sdtype = ma.fields.String()
    datetime_format = ma.fields.String()
    primary_key = ma.fields.Boolean()


class ModelSchema(ma.Schema):
    id = ma.fields.String(metadata={"description": "mdl_…"})
    job_id = ma.fields.String(metadata={"description": "The train job that made it"})
    dataset_id = ma.fields.String()
    engine = ma.fields.String()
    synthesizer = ma.fields.String(metadata={"description": "gaussian_copula, ctgan, tvae, copulagan or hma"})
    device = ma.fields.String(metadata={"description": "cuda or cpu: where it was trained"})
    artifact_id = ma.fields.String(allow_none=True)
    artifact_blake3 = ma.fields.String()
    columns = ma.fields.List(ma.fields.Nested(ModelColumnSchema))
    source = ma.fields.Dict(metadata={"description": "Dataset, row cap, holdout share and split seed"})
    training = ma.fields.Dict(metadata={"description": "Rows, epochs, seconds and the loss per epoch"})
    quality_score = ma.fields.Float(allow_none=True, metadata={"description": "sdmetrics quality, 0..1"})
    created_at = ma.fields.String()
    _links = ma.fields.Dict(data_key="_links", attribute="_links")


class ModelListArgsSchema(PageArgsSchema):
    dataset_id = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))


ModelPageSchema = page_schema(ModelSchema, "ModelPageSchema")
