"""Schemas for seals, the seal log's checkpoint and its consistency proofs."""

from __future__ import annotations

import marshmallow as ma

from appliance.api.extensions import PageArgsSchema, page_schema


class SealSchema(ma.Schema):
    id = ma.fields.String()
    job_id = ma.fields.String()
    contract_hash = ma.fields.String(
        metadata={"description": "Hex BLAKE3 of the sealed job's canonical contract (as in the Statement)"}
    )
    leaf_index = ma.fields.Integer(metadata={"description": "Position of this seal in the log (0-based)"})
    leaf_hash = ma.fields.String(metadata={"description": "Hex BLAKE3(0x00 ‖ envelope bytes)"})
    signing_key_id = ma.fields.String(metadata={"description": "name+keyid of the key that signed the envelope"})
    created_at = ma.fields.String(metadata={"description": "When the seal was made (RFC 3339 UTC)"})
    _links = ma.fields.Dict(data_key="_links", attribute="_links")


class SealDetailSchema(SealSchema):
    envelope = ma.fields.Dict(metadata={"description": "The DSSE envelope; its payload is the in-toto Statement"})


class SealListArgsSchema(PageArgsSchema):
    job_id = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))


SealPageSchema = page_schema(SealSchema, "SealPageSchema")


class CheckpointArgsSchema(ma.Schema):
    format = ma.fields.String(
        load_default="json",
        validate=ma.validate.OneOf(["json", "text"]),
        metadata={"description": "`text`: the signed note alone, as text/plain (keep it for --prev-checkpoint)"},
    )


class CheckpointSchema(ma.Schema):
    origin = ma.fields.String(metadata={"description": "The log's origin line"})
    tree_hash = ma.fields.String(
        metadata={"description": "Tree hash the log declared when created: sha256 (RFC 6962), or blake3 (older logs)"}
    )
    tree_size = ma.fields.Integer()
    root = ma.fields.String(metadata={"description": "Base64 root hash, as in the note"})
    note = ma.fields.String(metadata={"description": "The C2SP signed note, exactly as signed"})
    signing_key_id = ma.fields.String()
    created_at = ma.fields.String()


class ConsistencyArgsSchema(ma.Schema):
    from_size = ma.fields.Integer(
        data_key="from",
        required=True,
        validate=ma.validate.Range(min=1),
        metadata={"description": "The older tree size (of the checkpoint you kept)"},
    )
    to_size = ma.fields.Integer(
        data_key="to",
        load_default=None,
        validate=ma.validate.Range(min=1),
        metadata={"description": "The newer tree size (default: the latest checkpoint's)"},
    )


class ConsistencyProofSchema(ma.Schema):
    from_size = ma.fields.Integer()
    to_size = ma.fields.Integer()
    hashes = ma.fields.List(ma.fields.String(), metadata={"description": "Base64 node hashes (RFC 9162 §2.1.4)"})
    hash = ma.fields.String(metadata={"description": "The log's tree hash: sha256 (RFC 6962), or blake3 (older logs)"})
