"""Time in one format: RFC 3339 UTC with milliseconds and a Z."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_iso() -> str:
    return iso(time.time())


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
