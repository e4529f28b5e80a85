"""Schemas for live SCADA runs."""

from __future__ import annotations

import marshmallow as ma

from appliance.api.extensions import PageArgsSchema

PORT = ma.validate.Range(min=1, max=65535)


class ModbusSchema(ma.Schema):
    port = ma.fields.Integer(required=True, validate=PORT)
    unit_id = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=0, max=255))
    writes = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "Modbus has no authentication, so the server is read-only unless this is true:"
            " then whoever reaches the port may write setpoints, modes and commands (writes to a read-only"
            " server get exception 1, ILLEGAL FUNCTION)."
        },
    )


class OpcUaSchema(ma.Schema):
    port = ma.fields.Integer(required=True, validate=PORT)
    security = ma.fields.String(
        load_default="sign_encrypt",
        validate=ma.validate.OneOf(["sign_encrypt", "none", "both"]),
        metadata={
            "description": "sign_encrypt (the default): Basic256Sha256, Aes128_Sha256_RsaOaep and"
            " Aes256_Sha256_RsaPss SignAndEncrypt, appliance users (read: browse/read/subscribe; generate:"
            " also writes and methods; admin: everything) and trusted client certificates only. none: an"
            " unencrypted endpoint for anonymous read-only sessions (user names refused). both: the two."
        },
    )


class RunInSchema(ma.Schema):
    plant = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    params = ma.fields.Dict(load_default=None, allow_none=True)
    seed = ma.fields.Integer(load_default=None, allow_none=True, validate=ma.validate.Range(min=0, max=2**63 - 1))
    scan_period = ma.fields.Float(load_default=None, allow_none=True, validate=ma.validate.Range(min=0.01, max=10))
    sensors = ma.fields.Dict(load_default=None, allow_none=True)
    attacks = ma.fields.List(ma.fields.Dict(), load_default=None, allow_none=True)
    duration = ma.fields.Float(
        load_default=None,
        allow_none=True,
        metadata={"description": "Seconds of wall time; leave out to run until stopped"},
    )
    speed = ma.fields.Float(load_default=1.0, validate=ma.validate.Range(min=0.01, max=1000))
    host = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={
            "description": "Address both servers listen on: one of `[scada] allowed_hosts` (0.0.0.0 = every"
            " interface); leave out for `[scada] bind_host` (127.0.0.1 unless the operator changed it)"
        },
    )
    modbus = ma.fields.Nested(ModbusSchema, load_default=None, allow_none=True)
    opcua = ma.fields.Nested(OpcUaSchema, load_default=None, allow_none=True)
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class EndpointSchema(ma.Schema):
    protocol = ma.fields.String(metadata={"enum": ["modbus", "opcua"]})
    address = ma.fields.String(metadata={"description": "The address bound (0.0.0.0: every IPv4 interface)"})
    port = ma.fields.Integer()
    state = ma.fields.String(
        metadata={
            "enum": ["starting", "accepting", "failed", "closed"],
            "description": "accepting: a TCP connect from the worker succeeded; closed: the run has ended",
        }
    )
    error = ma.fields.String(allow_none=True)
    since = ma.fields.String(metadata={"description": "When the state was last set"})
    clients = ma.fields.Integer(
        metadata={
            "description": "Clients connected now: Modbus TCP connections, or activated OPC UA sessions"
            " (as the run's worker counted them within the last 0.1 s; 0 once the run has ended)"
        }
    )


class RunSchema(ma.Schema):
    id = ma.fields.String()
    job_id = ma.fields.String()
    status = ma.fields.String(
        metadata={
            "enum": ["starting", "running", "paused", "stopped", "failed", "canceled"],
            "description": "`running` once the worker runs the plant and every endpoint accepts connections;"
            " `paused` while it is frozen (POST …/pause, …/resume)",
        }
    )
    plant = ma.fields.String()
    host = ma.fields.String(metadata={"description": "The address the run's servers listen on"})
    endpoints = ma.fields.List(ma.fields.Nested(EndpointSchema))
    modbus = ma.fields.Dict(allow_none=True)
    opcua = ma.fields.Dict(allow_none=True)
    created_at = ma.fields.String()
    started_at = ma.fields.String(allow_none=True)
    paused_at = ma.fields.String(allow_none=True, metadata={"description": "Since when it is paused"})
    finished_at = ma.fields.String(allow_none=True)
    result = ma.fields.Dict(allow_none=True)
    error = ma.fields.Dict(allow_none=True)
    values = ma.fields.Dict(allow_none=True)
    _links = ma.fields.Dict(data_key="_links", attribute="_links")


class RunPageSchema(ma.Schema):
    data = ma.fields.List(ma.fields.Nested(RunSchema))
    count = ma.fields.Integer()
    has_more = ma.fields.Boolean()
    next_after = ma.fields.String(allow_none=True)


class RunListArgsSchema(PageArgsSchema):
    pass


class AttackInSchema(ma.Schema):
    """An attack from the library, starting now (or after `delay` s)."""

    technique = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    duration = ma.fields.Float(required=True, validate=ma.validate.Range(min=0.01, max=30 * 86400))
    targets = ma.fields.List(ma.fields.String(), load_default=None, allow_none=True)
    magnitude = ma.fields.Raw(load_default=None, allow_none=True)
    delay = ma.fields.Float(load_default=None, allow_none=True, validate=ma.validate.Range(min=0, max=86400))
    options = ma.fields.Dict(load_default=None, allow_none=True)
    id = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=32))


class AttackOutSchema(ma.Schema):
    status = ma.fields.String()
    scenario = ma.fields.Dict()
    command = ma.fields.Integer()


class MapArgsSchema(ma.Schema):
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(["json", "csv"]))
    protocol = ma.fields.String(
        load_default="modbus",
        validate=ma.validate.OneOf(["modbus", "opcua"]),
        metadata={"description": "Which map, for format=csv"},
    )


class CertificateSchema(ma.Schema):
    thumbprint = ma.fields.String(metadata={"description": "SHA-1 of the DER certificate, hex (the OPC UA id)"})
    sha256 = ma.fields.String(metadata={"description": "SHA-256 fingerprint, as HMIs show it"})
    status = ma.fields.String(metadata={"enum": ["trusted", "rejected", "issuer"]})
    subject = ma.fields.String()
    application_uri = ma.fields.String(allow_none=True)
    not_before = ma.fields.String()
    not_after = ma.fields.String()


class CertificatePageSchema(ma.Schema):
    data = ma.fields.List(ma.fields.Nested(CertificateSchema))
    count = ma.fields.Integer()
    has_more = ma.fields.Boolean()
    next_after = ma.fields.String(allow_none=True)


class CertificateListArgsSchema(PageArgsSchema):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["trusted", "rejected", "issuer"]))


class WriteInSchema(ma.Schema):
    """A value for one writable tag: a number within the tag's range, or true/false for a boolean tag."""

    tag = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    value = ma.fields.Raw(required=True, metadata={"type": ["number", "boolean"]})


class WriteOutSchema(ma.Schema):
    status = ma.fields.String(metadata={"enum": ["applied", "pending"]})
    tag = ma.fields.String()
    requested = ma.fields.Raw()
    value = ma.fields.Raw(metadata={"description": "What the plant stored"})
    readback = ma.fields.Raw(metadata={"description": "The tag read back after the write"})
    command = ma.fields.Integer()


class TrendArgsSchema(ma.Schema):
    tags = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=600),
        metadata={"description": "Comma-separated tags (pens)"},
    )
    start = ma.fields.Float(load_default=None, allow_none=True, metadata={"description": "Unix seconds"})
    end = ma.fields.Float(load_default=None, allow_none=True, metadata={"description": "Unix seconds"})
    last = ma.fields.Float(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Range(min=1, max=86400),
        metadata={"description": "Without start/end: the last this many seconds held (default 600)"},
    )
    points = ma.fields.Integer(load_default=2000, validate=ma.validate.Range(min=2, max=2000))
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(["json", "csv"]))


class AlarmSchema(ma.Schema):
    id = ma.fields.String()
    run_id = ma.fields.String()
    tag = ma.fields.String()
    description = ma.fields.String()
    priority = ma.fields.Integer(metadata={"description": "1 urgent (trips, HH/LL), 2 high (HI/LO), 3 low"})
    priority_name = ma.fields.String()
    state = ma.fields.String(metadata={"enum": ["active", "active_acked", "cleared_unacked", "cleared"]})
    shelved = ma.fields.Boolean()
    raised_at = ma.fields.String()
    scan = ma.fields.Integer(allow_none=True)
    cleared_at = ma.fields.String(allow_none=True)
    acked_at = ma.fields.String(allow_none=True)
    acked_by = ma.fields.String(allow_none=True)
    ack_note = ma.fields.String(allow_none=True)
    shelved_until = ma.fields.String(allow_none=True)
    shelved_by = ma.fields.String(allow_none=True)
    shelve_note = ma.fields.String(allow_none=True)
    active_attacks = ma.fields.List(ma.fields.String())
    _links = ma.fields.Dict(data_key="_links", attribute="_links")


class AlarmPageSchema(ma.Schema):
    data = ma.fields.List(ma.fields.Nested(AlarmSchema))
    count = ma.fields.Integer()
    has_more = ma.fields.Boolean()
    next_after = ma.fields.String(allow_none=True)


class ActiveAlarmsSchema(ma.Schema):
    data = ma.fields.List(ma.fields.Nested(AlarmSchema))
    count = ma.fields.Integer()
    shelved = ma.fields.List(ma.fields.Nested(AlarmSchema))


class ActiveAlarmArgsSchema(ma.Schema):
    run_id = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))


class AlarmHistoryArgsSchema(PageArgsSchema):
    run_id = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))
    tag = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))
    priority = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1, max=3))
    since = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40))
    until = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40))
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(["json", "csv"]))


class AckInSchema(ma.Schema):
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class ShelveInSchema(ma.Schema):
    minutes = ma.fields.Float(required=True, validate=ma.validate.Range(min=0, max=480))
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
