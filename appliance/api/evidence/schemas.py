"""Schemas for evidence bundles and the appliance's signing keys."""

from __future__ import annotations

import marshmallow as ma


class EvidenceArgsSchema(ma.Schema):
    include_artifacts = ma.fields.Boolean(
        load_default=False, metadata={"description": "Embed the artifacts under artifacts/<name> (streamed)"}
    )
    prev_size = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=1),
        metadata={"description": "Add consistency.json: a proof from this older tree size to the bundle's"},
    )
    witnessed = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "Prove the seal against the newest checkpoint that witnesses cosigned (409 while "
            "none that holds it is), instead of the latest one"
        },
    )


class SigningKeySchema(ma.Schema):
    key_id = ma.fields.String(metadata={"description": "name+hex(keyid), as in a bundle's key_id.txt"})
    name = ma.fields.String()
    verifier_key = ma.fields.String(metadata={"description": "C2SP verifier key: one line of a trust file"})
    created_at = ma.fields.String()
    active = ma.fields.Boolean()
    retired_at = ma.fields.String(allow_none=True)


class SigningKeyListSchema(ma.Schema):
    data = ma.fields.List(ma.fields.Nested(SigningKeySchema))
    count = ma.fields.Integer()
    trust_file = ma.fields.String(metadata={"description": "Every key as a ready trust file for sealforge-verify"})
