"""Schemas for datasets."""

from __future__ import annotations

import marshmallow as ma

from appliance.api.extensions import page_schema
from appliance.services.datasets.naming import UPLOAD_FORMATS


class UploadArgsSchema(ma.Schema):
    name = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))
    format = ma.fields.String(load_default=None, validate=ma.validate.OneOf(UPLOAD_FORMATS))


class ColumnSchema(ma.Schema):
    name = ma.fields.String()
    type = ma.fields.String()


class DatasetSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    format = ma.fields.String()
    media_type = ma.fields.String()
    size = ma.fields.Integer()
    blake3 = ma.fields.String()
    rows = ma.fields.Integer()
    columns = ma.fields.List(ma.fields.Nested(ColumnSchema))
    source_job_id = ma.fields.String(allow_none=True)
    created_at = ma.fields.String()
    _links = ma.fields.Dict(data_key="_links", attribute="_links")


DatasetPageSchema = page_schema(DatasetSchema, "DatasetPageSchema")


class PreviewArgsSchema(ma.Schema):
    rows = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=1000))


class TruncationSchema(ma.Schema):
    limit_bytes = ma.fields.Integer()
    config_key = ma.fields.String()
    message = ma.fields.String()


class PreviewSchema(ma.Schema):
    dataset_id = ma.fields.String()
    columns = ma.fields.List(ma.fields.String())
    rows = ma.fields.List(ma.fields.Dict())
    count = ma.fields.Integer()
    truncated = ma.fields.Boolean(metadata={"description": "The answer was cut at `[datasets] max_answer_bytes`."})
    truncation = ma.fields.Nested(TruncationSchema, allow_none=True)


class ProfileSchema(ma.Schema):
    dataset_id = ma.fields.String()
    job_id = ma.fields.String()
    rows = ma.fields.Integer()
    columns = ma.fields.List(ma.fields.Dict())
    inferred_schema = ma.fields.Dict(allow_none=True)
    truncated = ma.fields.Boolean(metadata={"description": "The answer was cut at `[datasets] max_answer_bytes`."})
    truncation = ma.fields.Nested(TruncationSchema, allow_none=True)
