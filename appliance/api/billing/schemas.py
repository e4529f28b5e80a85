"""Schemas for credits and estimates."""

from __future__ import annotations

import marshmallow as ma

from appliance.api.extensions import PageArgsSchema
from appliance.api.jobs.schemas import JobSubmitSchema


class EstimateInSchema(JobSubmitSchema):
    """The body a job submit takes (native `{kind, params}` or the published `{rows, kind, …}`):
    an estimate prices exactly what that submit would run."""


class EstimateQuerySchema(ma.Schema):
    """The same as the POST body, as query parameters; `params` is a JSON object. Any other
    parameter is a 400 naming it (an estimate that ignored `rows` would price the wrong job)."""

    kind = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=64))
    params = ma.fields.String(load_default="{}", metadata={"description": "The params as a JSON object"})
    rows = JobSubmitSchema._declared_fields["rows"]
    description = JobSubmitSchema._declared_fields["description"]
    dataset_id = JobSubmitSchema._declared_fields["dataset_id"]
    model = JobSubmitSchema._declared_fields["model"]
    seed = JobSubmitSchema._declared_fields["seed"]
    queue = JobSubmitSchema._declared_fields["queue"]


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


class ChargeSchema(ma.Schema):
    id = ma.fields.String(metadata={"description": "The ledger entry; also the page cursor"})
    job_id = ma.fields.String(allow_none=True, metadata={"description": "None for a one-request mock-data"})
    kind = ma.fields.String()
    rows = ma.fields.Integer(allow_none=True)
    credits = ma.fields.Float()
    finished_at = ma.fields.String(allow_none=True)
    charged_at = ma.fields.String()


class UsageArgsSchema(PageArgsSchema):
    """`limit` and `after`, as on every list."""


class UsagePageSchema(ma.Schema):
    data = ma.fields.List(ma.fields.Nested(ChargeSchema))
    count = ma.fields.Integer()
    has_more = ma.fields.Boolean()
    next_after = ma.fields.String(allow_none=True)
    tenant_id = ma.fields.String()
    total_credits = ma.fields.Float(metadata={"description": "All charges ever, not this page's"})
    balance = ma.fields.Float()
    by_kind = ma.fields.List(ma.fields.Nested(KindUsageSchema), metadata={"description": "All charges, by kind"})


class PeriodSchema(ma.Schema):
    start = ma.fields.String()
    end = ma.fields.String(metadata={"description": "Exclusive"})
    basis = ma.fields.String(metadata={"description": "`calendar_month_utc`"})


class PeriodUsageSchema(ma.Schema):
    credits = ma.fields.Float()
    jobs = ma.fields.Integer()
    rows = ma.fields.Integer()


class BillingSchema(ma.Schema):
    tenant_id = ma.fields.String()
    plan = ma.fields.String(metadata={"description": "The tenant's tier (`free`, `standard`)"})
    credit_balance = ma.fields.Float()
    period = ma.fields.Nested(PeriodSchema)
    period_usage = ma.fields.Nested(PeriodUsageSchema)
    _links = ma.fields.Dict(data_key="_links", attribute="_links")
