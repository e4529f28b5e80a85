"""A JSON serializer for Huey, so nothing in the queue files is a pickle.

Tasks carry only a job id, but Huey's envelope (its ``Message``) and its revoke flags still go
through the serializer; this one writes them as tagged JSON and refuses anything else, so a
queue file can be read by any tool and never executes code when loaded.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from huey.registry import Message
from huey.serializer import Serializer

_DT = "__dt__"
_MSG = "__msg__"


def _encode(value: Any) -> Any:
    if isinstance(value, Message):
        return {_MSG: {k: _encode(v) for k, v in value._asdict().items()}}
    if isinstance(value, dt.datetime):
        return {_DT: value.isoformat()}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("queue payload dict keys must be strings")
        return {k: _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot put a {type(value).__name__} in the queue; pass ids, not objects")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_DT}:
            return dt.datetime.fromisoformat(value[_DT])
        if set(value) == {_MSG}:
            fields = {k: _decode(v) for k, v in value[_MSG].items()}
            fields["args"] = tuple(fields.get("args") or ())
            return Message(**fields)
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


class JsonSerializer(Serializer):  # type: ignore[misc]
    def _serialize(self, data: Any) -> bytes:
        return json.dumps(_encode(data), separators=(",", ":")).encode()

    def _deserialize(self, data: bytes) -> Any:
        return _decode(json.loads(data))
