"""Schemas for tenants."""

from __future__ import annotations

import marshmallow as ma


class TenantSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    credits = ma.fields.Integer()
    created_at = ma.fields.String()
