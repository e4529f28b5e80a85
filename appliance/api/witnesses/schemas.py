"""Schemas for the seal log's witnesses and the cosignatures they send."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

MAX_NOTE = 64 * 1024


class WitnessCreateSchema(ma.Schema):
    verifier_key = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=1000),
        metadata={"description": "The witness's C2SP cosigner vkey: `name+keyid+base64(0x04 ‖ Ed25519 key)`"},
    )
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class WitnessSchema(ma.Schema):
    key_id = ma.fields.String(metadata={"description": "`name+hex(keyid)` of the witness key"})
    name = ma.fields.String()
    verifier_key = ma.fields.String(metadata={"description": "The vkey, for `sealforge-verify --witness`"})
    description = ma.fields.String()
    created_at = ma.fields.String()


class WitnessRemovedSchema(WitnessSchema):
    cosignatures_removed = ma.fields.Integer(
        metadata={"description": "How many stored cosignatures by this witness were deleted with it"}
    )


class WitnessListSchema(ma.Schema):
    data = ma.fields.List(ma.fields.Nested(WitnessSchema))
    count = ma.fields.Integer()


class CosignatureSubmitSchema(ma.Schema):
    note = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=1, max=MAX_NOTE),
        metadata={"description": "The cosigned checkpoint, as `sealforge-verify witness cosign` prints it"},
    )
    tree_size = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=1),
        metadata={"description": "Instead of `note`: the size of the cosigned checkpoint…"},
    )
    cosignatures = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=1000)),
        load_default=None,
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "…and its cosignature lines (`witness cosign --line-only`)"},
    )

    @ma.validates_schema
    def _one_form(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("note") is None) == (data.get("tree_size") is None and data.get("cosignatures") is None):
            raise ma.ValidationError("give either `note`, or `tree_size` and `cosignatures`", "note")
        if data.get("note") is None and (data.get("tree_size") is None or data.get("cosignatures") is None):
            raise ma.ValidationError("`tree_size` and `cosignatures` go together", "cosignatures")


class CosignatureSchema(ma.Schema):
    witness = ma.fields.String(metadata={"description": "`name+hex(keyid)` of the witness"})
    timestamp = ma.fields.Integer(metadata={"description": "When the witness cosigned (its clock, POSIX seconds)"})
    received_at = ma.fields.String()


class CosignatureAcceptedSchema(ma.Schema):
    witness = ma.fields.String()
    timestamp = ma.fields.Integer()
    stored = ma.fields.Boolean(metadata={"description": "false: an equal or newer cosignature was already stored"})


class CosignatureResultSchema(ma.Schema):
    tree_size = ma.fields.Integer()
    accepted = ma.fields.List(ma.fields.Nested(CosignatureAcceptedSchema))
    ignored = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Signature lines by keys neither the log's nor a witness's"},
    )
    note = ma.fields.String(metadata={"description": "The checkpoint with every stored cosignature, as now served"})
    cosignatures = ma.fields.List(ma.fields.Nested(CosignatureSchema))
