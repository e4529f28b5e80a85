"""Schemas for health answers and the error catalogue."""

from __future__ import annotations

import marshmallow as ma


class HealthSchema(ma.Schema):
    status = ma.fields.String()
    version = ma.fields.String()


class CheckSchema(ma.Schema):
    ok = ma.fields.Boolean()
    detail = ma.fields.String()


class LivezSchema(ma.Schema):
    ok = ma.fields.Boolean()
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(CheckSchema))


class ErrorCodeSchema(ma.Schema):
    code = ma.fields.String()
    status = ma.fields.Integer()
    meaning = ma.fields.String()
    hint = ma.fields.String()


class ErrorCatalogueSchema(ma.Schema):
    data = ma.fields.List(ma.fields.Nested(ErrorCodeSchema))
    count = ma.fields.Integer()
