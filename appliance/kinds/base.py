"""What a job kind is, and what a running job can do (its context).

A kind declares its params schema, its queue, how to estimate its cost, and how to run. The engine
hands ``run`` a ``JobContext``; kinds never touch the jobs table or the queue themselves. At the end,
what several kinds share: ``read_input`` (the input dataset as one Arrow table) and the column-name
checks ``column_names`` / ``require_known``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import marshmallow as ma

if TYPE_CHECKING:
    import pyarrow as pa


class JobCanceled(Exception):
    """Raised by ``JobContext.check_cancel`` when the user asked to cancel; the engine catches it."""


class ParamError(ValueError):
    """A params problem found by a kind's own check; ``field`` is a path inside ``params``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class JobFailed(Exception):
    """A kind's clean failure: a stable code and a message the user can act on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Estimate:
    rows: int = 0
    seconds: float = 1.0
    tier: str = "CPU"
    extra_micro: int = 0

    @property
    def micro(self) -> int:
        """1 row = 1 micro-credit; training tiers add their own price."""
        return self.rows + self.extra_micro


@dataclass(frozen=True)
class InputRef:
    dataset_id: str
    blake3: str
    path: Path
    format: str
    name: str


class JobContext(Protocol):
    job_id: str
    tenant_id: str
    kind: str
    params: dict[str, Any]
    seed: int
    inputs: list[InputRef]
    work_dir: Path
    state_dir: Path

    def progress(self, fraction: float, rows: int | None = None, message: str = "") -> None: ...

    def check_cancel(self) -> None: ...

    def is_canceled(self) -> bool: ...

    # ``hashed``: (BLAKE3, SHA-256) of the file, when the kind computed them as it wrote it, so the
    # runner links it into the blob store and seals it without reading it again
    def add_artifact(self, path: Path, name: str, media_type: str, hashed: tuple[str, str] | None = None) -> None: ...

    def set_result(self, result: dict[str, Any]) -> None: ...

    def artifact(self, artifact_id: str) -> dict[str, Any]: ...


class EmptyParams(ma.Schema):
    pass


@dataclass(frozen=True)
class Kind:
    name: str
    queue: str
    summary: str
    params_schema: type[ma.Schema] = EmptyParams
    estimate: Callable[[dict[str, Any]], Estimate] = field(default=lambda _params: Estimate())
    # the estimate at submit when the kind's time depends on its inputs' size: params and the rows of
    # each input dataset (None where unknown); `estimate` still prices the params alone (/v1/estimate)
    estimate_inputs: Callable[[dict[str, Any], list[int | None]], Estimate] | None = None
    run: Callable[[JobContext], None] | None = None
    check: Callable[[dict[str, Any]], None] | None = None
    prepare: Callable[[dict[str, Any], int], dict[str, Any]] | None = None
    # checks that need the input datasets' rows (columns) or the database, run at submit
    check_inputs: Callable[[sqlite3.Connection, str, dict[str, Any], list[dict[str, Any]]], None] | None = None
    deterministic: bool = True
    # small jobs of this kind (estimated rows up to [jobs] interactive_max_rows) go to the interactive queue
    interactive: bool = False
    min_inputs: int = 0
    max_inputs: int = 0

    @property
    def available(self) -> bool:
        return self.run is not None


# What several kinds share: reading the input dataset, and submit-time checks that params name
# real columns of the input dataset or model.

MAX_ROWS = 5_000_000  # row cap on an input read whole, for whole-table statistics


def read_input(ctx: JobContext, max_rows: int | None = None) -> pa.Table:
    from appliance.services.datasets.formats import FormatError, read_all

    ref = ctx.inputs[0]
    try:
        return read_all(ref.path, ref.format, max_rows=max_rows)
    except FormatError as exc:
        raise JobFailed("DATASET_INVALID", str(exc)) from exc


def column_names(columns: Any) -> list[str]:
    """Column names from a dataset row's ``columns`` ([{name, type}]) or a model's (names or a mapping)."""
    if isinstance(columns, dict):
        return [str(name) for name in columns]
    return [c["name"] if isinstance(c, dict) else str(c) for c in columns or []]


def require_known(names: Iterable[str], known: list[str], field: str) -> None:
    for name in names:
        if name not in known:
            shown = ", ".join(known[:20]) + (" …" if len(known) > 20 else "")
            raise ParamError(f"{field}.{name}", f"unknown column {name!r}; the columns are: {shown}")
