"""Reading a job's input dataset as one Arrow table, with a row cap for whole-table statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.kinds.base import JobContext, JobFailed

if TYPE_CHECKING:
    import pyarrow as pa

MAX_ROWS = 5_000_000


def read_input(ctx: JobContext, max_rows: int | None = None) -> pa.Table:
    from appliance.services.datasets.formats import FormatError, read_all

    ref = ctx.inputs[0]
    try:
        return read_all(ref.path, ref.format, max_rows=max_rows)
    except FormatError as exc:
        raise JobFailed("DATASET_INVALID", str(exc)) from exc
