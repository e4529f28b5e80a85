"""Schemas for evaluations (TSTR)."""

from __future__ import annotations

import marshmallow as ma

from appliance.services.synth.interface import TASKS


class EvaluationCreateSchema(ma.Schema):
    job_id = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "A succeeded synthesize job: its rows are the training set"},
    )
    target = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=256), metadata={"description": "The column to predict"}
    )
    task = ma.fields.String(load_default="auto", validate=ma.validate.OneOf(TASKS))
    dataset_id = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=64),
        metadata={"description": "Real rows to test on; default: the model's holdout (rows it never saw)"},
    )


class ColumnDistanceSchema(ma.Schema):
    column = ma.fields.String()
    metric = ma.fields.String(metadata={"description": "ks (numbers, dates) or tvd (categories)"})
    statistic = ma.fields.Float(allow_none=True)
    score = ma.fields.Float(allow_none=True)


class EvaluationSchema(ma.Schema):
    id = ma.fields.String(metadata={"description": "evl_…"})
    job_id = ma.fields.String()
    model_id = ma.fields.String(allow_none=True)
    dataset_id = ma.fields.String(metadata={"description": "Where the real test rows came from"})
    target = ma.fields.String()
    task = ma.fields.String(metadata={"description": "classification or regression"})
    metric = ma.fields.String(metadata={"description": "The headline metric: f1 or r2"})
    score = ma.fields.Float(allow_none=True)
    tstr = ma.fields.Dict(
        metadata={
            "description": "Train on synthetic, test on real: accuracy, f1, precision, recall, roc_auc, "
            "log_loss (classification) or r2, mae, rmse (regression)"
        }
    )
    trtr = ma.fields.Dict(allow_none=True, metadata={"description": "The same model trained on real rows"})
    columns = ma.fields.List(ma.fields.Nested(ColumnDistanceSchema))
    features = ma.fields.List(ma.fields.String())
    dropped_features = ma.fields.List(ma.fields.String())
    rows = ma.fields.Dict()
    created_at = ma.fields.String()
    _links = ma.fields.Dict(data_key="_links", attribute="_links")
