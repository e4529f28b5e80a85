"""Witnesses of the seal log: the operator registers their keys, they send back cosignatures
(C2SP tlog-cosignature/v1) on checkpoints this appliance issued, and every checkpoint the appliance
serves (the checkpoint endpoint, bundles) carries them as extra signature lines.

Why only registered witnesses: a cosignature is checked before it is stored, so a forged one never
is; but a valid one from a key nobody trusts would only take space, and anyone could fill the log's
notes with them. The operator registers the witnesses the site's auditors run
(docs/decisions.md); the verifier still decides for itself which witnesses it trusts.

Why the witness sends back the whole note: the appliance compares its body with the checkpoint it
signed at that size, byte for byte, so a cosignature of any other body (a fork someone else was
shown) is refused rather than served beside the real checkpoint.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from sealforge_verify import NoteError, parse_checkpoint, parse_note
from sealforge_verify.cosignature import WitnessKey, parse_witness_key, signature_line
from sealforge_verify.note import Note, join_note

from appliance import errors
from appliance.clock import now_iso
from appliance.errors import AppError, FieldError
from appliance.evidence import keys
from appliance.store import seals as seals_store
from appliance.store import witnesses as witnesses_store
from appliance.store.db import transaction

MAX_WITNESSES = 64
_REGISTER_HINT = "An operator registers a witness's vkey with POST /v1/seals/witnesses (scope `operator`)."
_WITNESS_REF = re.compile(r"[^+\s]{1,200}\+[0-9a-f]{8}")


def witness_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "key_id": row["key_id"],
        "name": row["name"],
        "verifier_key": row["verifier_key"],
        "description": row["description"],
        "created_at": row["created_at"],
    }


def list_witnesses(conn: sqlite3.Connection) -> dict[str, Any]:
    data = [witness_view(r) for r in witnesses_store.list_witnesses(conn)]
    return {"data": data, "count": len(data)}


def register_witness(conn: sqlite3.Connection, verifier_key: str, description: str) -> dict[str, Any]:
    """Register a cosigner vkey (``name+keyid+base64(0x04 ‖ key)``); 409 if it is already."""
    try:
        key = parse_witness_key(verifier_key)
    except NoteError as exc:
        raise errors.validation("verifier_key", str(exc)) from None
    with transaction(conn):
        if witnesses_store.get_witness(conn, key.ref) is not None:
            raise AppError(errors.CONFLICT, f"witness {key.ref} is already registered")
        if len(witnesses_store.list_witnesses(conn)) >= MAX_WITNESSES:
            raise AppError(errors.CONFLICT, f"the appliance already has {MAX_WITNESSES} witnesses, the most it keeps")
        row = {
            "key_id": key.ref,
            "name": key.name,
            "verifier_key": key.text,
            "description": description,
            "created_at": now_iso(),
        }
        witnesses_store.insert_witness(conn, row)
    return witness_view(row)


def remove_witness(conn: sqlite3.Connection, key_id: str) -> dict[str, Any]:
    """Retire a witness: the appliance stops accepting its cosignatures and forgets the ones it sent.

    Why forget them rather than keep them hidden: registration decides what the appliance serves
    (docs/decisions.md), and a cosignature kept but never served is no use to anyone here; bundles
    and checkpoints already handed out keep their lines, which verify offline as before for an
    auditor who still trusts that witness. ``witnessed=true`` then counts only the witnesses left."""
    if not _WITNESS_REF.fullmatch(key_id):
        raise errors.validation("key_id", "must be a witness's `name+keyid` (8 hex digits), as the list shows it")
    with transaction(conn):
        row = witnesses_store.get_witness(conn, key_id)
        if row is None:
            raise AppError(
                errors.NOT_FOUND,
                f"witness {key_id} is not registered",
                hint="GET /v1/seals/witnesses lists the registered witnesses by `key_id`.",
            )
        removed = witnesses_store.delete_witness(conn, key_id)
    return {**witness_view(row), "cosignatures_removed": removed}


def cosigned_note(conn: sqlite3.Connection, checkpoint: dict[str, Any]) -> str:
    """The checkpoint's signed note with the stored cosignatures appended as signature lines."""
    lines = [r["line"] for r in witnesses_store.cosignatures_at(conn, int(checkpoint["tree_size"]))]
    return str(checkpoint["note"]) + "".join(lines)


def witnessed_checkpoint(conn: sqlite3.Connection, leaf_index: int) -> dict[str, Any]:
    """The newest cosigned checkpoint that holds leaf ``leaf_index``; 409 while there is none."""
    size = witnesses_store.latest_cosigned_size(conn, leaf_index + 1)
    checkpoint = None if size is None else seals_store.checkpoint_at(conn, size)
    if checkpoint is None:
        raise AppError(
            errors.CONFLICT,
            f"no checkpoint that holds leaf {leaf_index} has been cosigned by a witness yet",
            hint="Witnesses cosign GET /v1/seals/checkpoint?format=text and send it to POST /v1/seals/cosignatures; "
            "until then, ask for the bundle without witnessed=true.",
        )
    return checkpoint


def cosignature_views(conn: sqlite3.Connection, size: int) -> list[dict[str, Any]]:
    """Who cosigned the checkpoint of ``size``, and when (the witness's own timestamp)."""
    return [
        {"witness": r["witness_key_id"], "timestamp": r["timestamp"], "received_at": r["received_at"]}
        for r in witnesses_store.cosignatures_at(conn, size)
    ]


def _submitted_note(conn: sqlite3.Connection, note: str | None, tree_size: int | None, lines: list[str]) -> Note:
    """The note the caller sent (or the issued checkpoint with the caller's lines appended),
    checked to be a checkpoint this appliance issued."""
    if note is not None:
        try:
            parsed = parse_note(note)
            size = parse_checkpoint(parsed.text).size
        except NoteError as exc:
            raise errors.validation("note", f"not a signed checkpoint: {exc}") from None
        field = "note"
    else:
        if tree_size is None or not lines:
            raise errors.validation("note", "give the cosigned checkpoint as `note`, or `tree_size` and `cosignatures`")
        size, field = tree_size, "cosignatures"
    issued = seals_store.checkpoint_at(conn, size)
    if issued is None:
        raise AppError(
            errors.NOT_FOUND,
            f"this appliance issued no checkpoint of size {size}",
            hint="Cosign a checkpoint from GET /v1/seals/checkpoint?format=text.",
        )
    body = parse_note(str(issued["note"])).text
    if note is None:
        try:
            parsed = parse_note(join_note(body, lines))
        except NoteError as exc:
            raise errors.validation("cosignatures", str(exc)) from None
    if parsed.text != body:
        raise AppError(
            errors.VALIDATION_FAILED,
            f"{field}: its body differs from the checkpoint this appliance issued at size {size}",
            hint="A witness shown a different checkpoint of this size saw a forked log: keep its note as evidence.",
            details=[FieldError(field, "not the body of a checkpoint this appliance issued")],
        )
    return parsed


def submit_cosignatures(
    conn: sqlite3.Connection, note: str | None, tree_size: int | None = None, lines: list[str] | None = None
) -> dict[str, Any]:
    """Check and store the registered witnesses' cosignatures on an issued checkpoint.

    A line by a registered witness that does not verify refuses the whole request (nothing is
    stored); the log's own signature lines are skipped; lines by other keys are listed as ignored.
    At least one registered witness's valid cosignature is needed."""
    parsed = _submitted_note(conn, note, tree_size, lines or [])
    size = parse_checkpoint(parsed.text).size
    registered = {
        (key.name, key.key_id): key
        for key in (parse_witness_key(r["verifier_key"]) for r in witnesses_store.list_witnesses(conn))
    }
    log_keys = {(k.name, k.key_id) for k in keys.trusted_verifiers(conn)}
    good: dict[WitnessKey, tuple[int, str]] = {}
    ignored: list[str] = []
    for signature in parsed.signatures:
        ident = (signature.name, signature.key_id)
        if ident in log_keys:
            continue
        key = registered.get(ident)
        if key is None:
            ignored.append(f"{signature.name}+{signature.key_id.hex()}")
            continue
        timestamp = key.verify(parsed.text, signature)
        if timestamp is None:
            raise errors.validation("note", f"the cosignature by witness {key.ref} does not verify")
        if key not in good or timestamp > good[key][0]:
            good[key] = (timestamp, signature_line(signature))
    if not good:
        raise AppError(
            errors.VALIDATION_FAILED,
            "no cosignature by a registered witness"
            + (f" (the note has lines by unregistered keys: {', '.join(ignored)})" if ignored else ""),
            hint=_REGISTER_HINT,
            details=[FieldError("note", "no cosignature by a registered witness")],
        )
    received = now_iso()
    accepted = []
    with transaction(conn):
        for key, (timestamp, line) in good.items():
            row = {
                "tree_size": size,
                "witness_key_id": key.ref,
                "timestamp": timestamp,
                "line": line,
                "received_at": received,
            }
            stored = witnesses_store.put_cosignature(conn, row)
            accepted.append({"witness": key.ref, "timestamp": timestamp, "stored": stored})
    issued = seals_store.checkpoint_at(conn, size)
    assert issued is not None
    return {
        "tree_size": size,
        "accepted": accepted,
        "ignored": ignored,
        "note": cosigned_note(conn, issued),
        "cosignatures": cosignature_views(conn, size),
    }
