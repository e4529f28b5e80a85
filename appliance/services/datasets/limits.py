"""How far one upload may expand once decoded, and the errors that say which bound it crossed.

A few kilobytes of zstd Parquet, or a CSV with one enormous field, can decode into gigabytes. The
size quota (`max_upload_bytes`) only bounds the bytes on the wire, so every reader of an upload
also checks these bounds while it streams: the decoded table, one cell, one row, the Parquet pages
held at once, the column count and the nesting depth. Each error names the limit and the config
key that sets it, so an operator can tell a hostile file from a legitimate one that needs a larger
limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from appliance import errors
from appliance.errors import AppError, ErrorSpec
from appliance.services.datasets.naming import FormatError


@dataclass(frozen=True)
class Limits:
    """The `[datasets]` bounds, in bytes (depth and columns are counts)."""

    max_decoded_bytes: int = 4 << 30
    max_cell_bytes: int = 256 << 10
    max_row_bytes: int = 1 << 20
    max_page_bytes: int = 128 << 20
    max_columns: int = 2000
    max_nesting_depth: int = 32
    max_answer_bytes: int = 1 << 20

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Limits:
        section = cfg.get("datasets", {})
        defaults = cls()
        return cls(**{name: int(section.get(name, getattr(defaults, name))) for name in cls.__dataclass_fields__})


def current() -> Limits:
    """The limits of this process's configuration, for callers that were not handed a config."""
    from appliance.config import load_config

    return Limits.from_config(load_config())


class LimitExceeded(FormatError):
    """The file decodes past one of the `[datasets]` bounds."""

    spec: ErrorSpec = errors.UPLOAD_LIMIT_EXCEEDED

    def __init__(self, what: str, limit: int, key: str, unit: str = "bytes") -> None:
        super().__init__(f"{what}, over the limit of {limit:,} {unit} ([datasets] {key})")
        self.key = key
        self.limit = limit


class TooDeep(LimitExceeded):
    """Nested values deeper than `max_nesting_depth`: refused at the door, before any parser recurses."""

    spec = errors.NESTING_TOO_DEEP

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(what, limit, "max_nesting_depth", "levels")


def app_error(exc: FormatError) -> AppError:
    """The envelope error for a file that failed a check: its limit's code, or DATASET_INVALID."""
    if isinstance(exc, LimitExceeded):
        return AppError(
            exc.spec,
            str(exc),
            hint=f"{exc.spec.hint} This appliance's limit is `[datasets] {exc.key} = {exc.limit}`.",
        )
    return AppError(errors.DATASET_INVALID, str(exc))
