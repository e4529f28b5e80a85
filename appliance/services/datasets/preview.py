"""The first rows of a stored dataset, as JSON-ready values, within a byte budget.

A preview is capped by rows (the caller's `rows`) and by the bytes of its JSON answer
(`[datasets] max_answer_bytes`): one wide row must not turn a 20-row preview into a 20 MB answer.
Rows are decoded a few at a time, so the rows past the cut are never decoded at all; the answer
says when it was cut and by which limit.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.services.datasets.limits import Limits, app_error
from appliance.services.datasets.naming import FormatError
from appliance.store.blobs import BlobStore

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_ROWS = 16
HEAD_BYTES = 8 << 20  # JSONL read for a preview: whole lines, enough for any answer under the cap


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def json_size(value: Any) -> int:
    """Bytes of ``value`` in the answer (compact JSON, as the API writes it, give or take spacing)."""
    return len(json.dumps(value, default=str, separators=(",", ":")).encode())


def truncation(limit: int, message: str) -> dict[str, Any]:
    return {"limit_bytes": limit, "config_key": "datasets.max_answer_bytes", "message": message}


def _records(batches: Iterator[pa.RecordBatch]) -> Iterator[dict[str, Any]]:
    for batch in batches:
        for offset in range(0, batch.num_rows, BATCH_ROWS):
            for record in batch.slice(offset, BATCH_ROWS).to_pylist():
                yield {k: jsonable(v) for k, v in record.items()}


def head(state_dir: Path, dataset: dict[str, Any], rows: int, limits: Limits) -> dict[str, Any]:
    from appliance.services.datasets.formats import read_head

    path = BlobStore(state_dir).path(dataset["blake3"])
    data: list[dict[str, Any]] = []
    cut: dict[str, Any] | None = None
    try:
        head_bytes = max(HEAD_BYTES, 4 * limits.max_answer_bytes)
        stream = read_head(path, dataset["format"], rows, limits, batch_rows=BATCH_ROWS, head_bytes=head_bytes)
        first = next(stream, None)
        if first is None:
            raise FormatError("the file holds no rows")
        columns = first.schema.names
        budget = limits.max_answer_bytes - json_size({"dataset_id": dataset["id"], "columns": columns, "rows": []})
        for item in _records(itertools.chain([first], stream)):
            budget -= json_size(item) + 1
            if budget < 0:
                cut = truncation(
                    limits.max_answer_bytes,
                    f"cut after {len(data)} row(s): row {len(data) + 1} would take the answer past "
                    f"{limits.max_answer_bytes:,} bytes ([datasets] max_answer_bytes)",
                )
                break
            data.append(item)
    except FormatError as exc:
        raise app_error(exc) from exc
    answer: dict[str, Any] = {"dataset_id": dataset["id"], "columns": columns, "rows": data, "count": len(data)}
    return answer | {"truncated": cut is not None, "truncation": cut}
