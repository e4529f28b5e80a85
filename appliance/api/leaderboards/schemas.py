"""Schemas for leaderboards."""

from __future__ import annotations

import marshmallow as ma

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
