"""Schemas for credits and estimates."""

from __future__ import annotations

import marshmallow as ma


class EstimateInSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    params = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)


class EstimateQuerySchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    params = ma.fields.String(load_default="{}", metadata={"description": "The params as a JSON object"})


class EstimateSchema(ma.Schema):
    kind = ma.fields.String()
    estimated_credits = ma.fields.Float()
    estimated_seconds = ma.fields.Float()
    estimated_rows = ma.fields.Integer()
    training_tier = ma.fields.String()
    queue = ma.fields.String()


class BalanceSchema(ma.Schema):
    tenant_id = ma.fields.String()
    credits = ma.fields.Float()


class TopUpSchema(ma.Schema):
    credits = ma.fields.Float(required=True, validate=ma.validate.Range(min=0, min_inclusive=False, max=1e9))
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))


class KindUsageSchema(ma.Schema):
    kind = ma.fields.String()
    jobs = ma.fields.Integer()
    credits = ma.fields.Float()


class UsageSchema(ma.Schema):
    tenant_id = ma.fields.String()
    total_credits = ma.fields.Float()
    balance = ma.fields.Float()
    by_kind = ma.fields.List(ma.fields.Nested(KindUsageSchema))
