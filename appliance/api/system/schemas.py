"""Schemas for /v1/system/updates and /v1/system/reboot."""

from __future__ import annotations

import marshmallow as ma

from appliance.services.system_update.slots import MAX_TRIES


class UploadArgsSchema(ma.Schema):
    tries = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=1, max=MAX_TRIES),
        metadata={
            "description": "Trial boots before the previous release boots again (default `[image] default_tries`)"
        },
    )
    reboot = ma.fields.Boolean(
        load_default=False, metadata={"description": "Reboot into the trial as soon as the update is written"}
    )
    allow_downgrade = ma.fields.Boolean(
        load_default=False, metadata={"description": "Accept a bundle whose serial is not newer than the running one"}
    )


class RunningSchema(ma.Schema):
    serial = ma.fields.Integer(metadata={"description": "IMAGE_SERIAL of the running release"})
    version = ma.fields.String(metadata={"description": "IMAGE_VERSION of the running release (display)"})


class UpdateRequestSchema(ma.Schema):
    id = ma.fields.String()
    state = ma.fields.String(metadata={"description": "`queued` until the root updater takes it"})
    serial = ma.fields.Integer(allow_none=True)
    version = ma.fields.String(allow_none=True)
    roothash = ma.fields.String(allow_none=True)
    bytes = ma.fields.Integer(allow_none=True)
    blake3 = ma.fields.String(allow_none=True)
    tries = ma.fields.Integer(allow_none=True)
    reboot = ma.fields.Boolean()
    allow_downgrade = ma.fields.Boolean(allow_none=True)
    running_serial = ma.fields.Integer(allow_none=True)
    received_at = ma.fields.String(allow_none=True)
    requested_at = ma.fields.String(allow_none=True)
    by = ma.fields.String()


class SlotSchema(ma.Schema):
    slot = ma.fields.String(metadata={"description": "`a` or `b`"})
    roothash = ma.fields.String()
    state = ma.fields.String(
        metadata={
            "description": "`running`, `empty`, or the state of the entry that boots it: `trial` (boots left), "
            "`failed` (tries used up: the previous release boots), `good`; `no-entry` when none boots it"
        }
    )
    serial = ma.fields.Integer(allow_none=True)
    entry = ma.fields.String(allow_none=True, metadata={"description": "Its boot entry on the ESP"})
    tries_left = ma.fields.Integer(allow_none=True)
    root_bytes = ma.fields.Integer()
    verity_bytes = ma.fields.Integer()


class LastApplySchema(ma.Schema):
    id = ma.fields.String()
    state = ma.fields.String(metadata={"description": "`applied` or `failed`"})
    outcome = ma.fields.String(
        metadata={
            "description": "How its trial went, read from the slots at the updater's last run: `waiting-for-reboot`, "
            "`booted`, `rolled-back`, `not-running`, `replaced`, `none` (not applied)"
        }
    )
    error = ma.fields.String(allow_none=True)
    message = ma.fields.String(allow_none=True)
    slot = ma.fields.String(allow_none=True)
    serial = ma.fields.Integer(allow_none=True)
    version = ma.fields.String(allow_none=True)
    roothash = ma.fields.String(allow_none=True)
    entry = ma.fields.String(allow_none=True)
    tries = ma.fields.Integer(allow_none=True)
    previous_serial = ma.fields.Integer(allow_none=True)
    by = ma.fields.String(allow_none=True)
    received_at = ma.fields.String(allow_none=True)
    finished_at = ma.fields.String(allow_none=True)


class UpdatesStatusSchema(ma.Schema):
    running = ma.fields.Nested(RunningSchema)
    pending = ma.fields.List(ma.fields.Nested(UpdateRequestSchema), metadata={"description": "Queued requests"})
    slots = ma.fields.List(ma.fields.Nested(SlotSchema))
    last_apply = ma.fields.Nested(LastApplySchema, allow_none=True)
    checked_at = ma.fields.String(allow_none=True, metadata={"description": "When the root updater last looked"})
