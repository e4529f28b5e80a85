"""Schemas for tenants."""

from __future__ import annotations

import marshmallow as ma


class TenantSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    credits = ma.fields.Float(metadata={"description": "Balance; 1 credit = 1,000,000 generated rows"})
    tier = ma.fields.String(
        metadata={"enum": ["free", "standard"], "description": "free: every job runs on the `free` queue"}
    )
    created_at = ma.fields.String()
