"""Schemas for previews, one-request mock datasets and fabricate plans."""

from __future__ import annotations

import marshmallow as ma

from appliance.api.datasets.schemas import DatasetSchema
from appliance.kinds.mock import MOCK_FORMATS

SEED = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=2**63 - 1))


class PreviewInSchema(ma.Schema):
    schema = ma.fields.Dict(required=True, metadata={"description": "A mock schema; see docs/mock-schema.md"})
    rows = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=1000))
    seed = SEED


class PreviewOutSchema(ma.Schema):
    seed = ma.fields.Integer()
    tables = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.Dict()))


class MockDataInSchema(ma.Schema):
    schema = ma.fields.Dict(required=True)
    seed = SEED
    format = ma.fields.String(load_default="parquet", validate=ma.validate.OneOf(MOCK_FORMATS))
    name = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))


class MockDataOutSchema(ma.Schema):
    datasets = ma.fields.List(ma.fields.Nested(DatasetSchema))
    rows = ma.fields.Integer()
    credits = ma.fields.Float()


class PlanInSchema(ma.Schema):
    description = ma.fields.String(required=True, validate=ma.validate.Length(min=3, max=2000))
    seed = SEED


class PlanSchema(ma.Schema):
    description = ma.fields.String()
    seed = ma.fields.Integer()
    schema = ma.fields.Dict()
    tables = ma.fields.List(ma.fields.Dict())
    warnings = ma.fields.List(ma.fields.String())
    interpretation = ma.fields.Raw()
