"""Schemas for jobs."""

from __future__ import annotations

import marshmallow as ma

from appliance.api.extensions import PageArgsSchema, page_schema
from appliance.jobs.lifecycle import ALLOWED
from appliance.jobs.queues import QUEUES

DATASET_ID = ma.validate.Regexp(r"^ds_[0-9A-Z]{26}$", error="not a dataset id (ds_…)")


class JobSubmitBaseSchema(ma.Schema):
    params = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)
    seed = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Range(min=0, max=2**63 - 1),
        metadata={"description": "Omit for a random seed; it is recorded in the contract either way."},
    )
    inputs = ma.fields.List(
        ma.fields.String(validate=DATASET_ID), load_default=list, validate=ma.validate.Length(max=16)
    )
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
    queue = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.OneOf(QUEUES))
    # The published API's top-level fields (appliance.jobs.published reads them into params/inputs).
    rows = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=10_000_000_000),
        metadata={"description": "mock, fabricate, synthesize: rows to generate (same as params.rows)"},
    )
    dataset_id = ma.fields.String(
        validate=DATASET_ID,
        metadata={"description": "synthesize: the dataset to learn from; a model already trained on it with the"
                  " same settings is reused, else one is trained in the job"},
    )
    model = ma.fields.String(
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "synthesize: `synthesize` (the default synthesizer), a synthesizer name, or a"
                  " model id (mdl_…)"},
    )


class JobSubmitSchema(JobSubmitBaseSchema):
    kind = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "Leave out for `mock` (with a top-level `description` and `rows`)"},
    )


class EvidenceStateSchema(ma.Schema):
    expected_root_pending = ma.fields.Boolean(
        metadata={"description": "true until the job ends; its evidence bundle and seal exist once it succeeds"}
    )


class EstimateOutSchema(ma.Schema):
    credits = ma.fields.Float()
    seconds = ma.fields.Float()


class JobErrorSchema(ma.Schema):
    code = ma.fields.String()
    message = ma.fields.String()


class JobSchema(ma.Schema):
    id = ma.fields.String()
    job_id = ma.fields.String()
    kind = ma.fields.String()
    status = ma.fields.String(metadata={"enum": sorted(ALLOWED)})
    queue = ma.fields.String()
    description = ma.fields.String()
    params = ma.fields.Dict()
    seed = ma.fields.Integer()
    inputs = ma.fields.List(ma.fields.Dict())
    contract_hash = ma.fields.String()
    estimate = ma.fields.Nested(EstimateOutSchema)
    evidence = ma.fields.Nested(EvidenceStateSchema)
    progress = ma.fields.Float()
    rows = ma.fields.Integer()
    message = ma.fields.String()
    result = ma.fields.Dict(allow_none=True)
    error = ma.fields.Nested(JobErrorSchema, allow_none=True)
    attempts = ma.fields.Integer()
    rerun_of = ma.fields.String(allow_none=True)
    created_at = ma.fields.String()
    started_at = ma.fields.String(allow_none=True)
    finished_at = ma.fields.String(allow_none=True)
    _links = ma.fields.Dict(data_key="_links", attribute="_links")


class JobListArgsSchema(PageArgsSchema):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(sorted(ALLOWED)))
    kind = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))
    order = ma.fields.String(
        load_default="desc",
        validate=ma.validate.OneOf(["desc", "asc"]),
        metadata={"description": "`desc` (the default): newest first, as the published pages list recent jobs; "
                  "`asc`: oldest first. `after` continues in the same order."},
    )


JobPageSchema = page_schema(JobSchema, "JobPageSchema")


class KindSchema(ma.Schema):
    kind = ma.fields.String()
    queue = ma.fields.String()
    summary = ma.fields.String()
    available = ma.fields.Boolean()
    deterministic = ma.fields.Boolean()


class KindListSchema(ma.Schema):
    data = ma.fields.List(ma.fields.Nested(KindSchema))
    count = ma.fields.Integer()
