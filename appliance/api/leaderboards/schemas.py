"""Schemas for leaderboards."""

from __future__ import annotations

import marshmallow as ma

from appliance.services.ics_leaderboard import METRICS as ICS_METRICS
from appliance.services.synth.leaderboard import ORDERS


class LeaderboardArgsSchema(ma.Schema):
    dataset_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    by = ma.fields.String(load_default="quality", validate=ma.validate.OneOf(ORDERS))


class LeaderboardTstrSchema(ma.Schema):
    evaluation_id = ma.fields.String()
    target = ma.fields.String()
    task = ma.fields.String()
    metric = ma.fields.String()
    score = ma.fields.Float(allow_none=True)


class LeaderboardEntrySchema(ma.Schema):
    rank = ma.fields.Integer()
    model_id = ma.fields.String()
    synthesizer = ma.fields.String()
    engine = ma.fields.String()
    device = ma.fields.String()
    quality_score = ma.fields.Float(allow_none=True)
    tstr = ma.fields.Nested(LeaderboardTstrSchema, allow_none=True)
    created_at = ma.fields.String()


class LeaderboardSchema(ma.Schema):
    dataset_id = ma.fields.String()
    by = ma.fields.String()
    data = ma.fields.List(ma.fields.Nested(LeaderboardEntrySchema))
    count = ma.fields.Integer()


class IcsLeaderboardArgsSchema(ma.Schema):
    plant = ma.fields.String(load_default=None, validate=ma.validate.OneOf(("water", "chemical", "power")))
    by = ma.fields.String(load_default="etapr_f1", validate=ma.validate.OneOf(ICS_METRICS))


class IcsLeaderboardEntrySchema(ma.Schema):
    rank = ma.fields.Integer()
    job_id = ma.fields.String()
    plant = ma.fields.String()
    detector = ma.fields.String()
    f1 = ma.fields.Float(metadata={"description": "point-wise F1 over all attack rows"})
    pa_f1 = ma.fields.Float(metadata={"description": "point-adjusted F1"})
    etapr_f1 = ma.fields.Float(metadata={"description": "eTaPR F1 (theta_p 0.5, theta_r 0.1, delta 0)"})
    normal_alarm_rate = ma.fields.Float(metadata={"description": "share of the attack run's normal rows alarmed"})
    seal_id = ma.fields.String(allow_none=True)
    created_at = ma.fields.String()


class IcsLeaderboardSchema(ma.Schema):
    plant = ma.fields.String(allow_none=True)
    by = ma.fields.String()
    data = ma.fields.List(ma.fields.Nested(IcsLeaderboardEntrySchema))
    count = ma.fields.Integer()
