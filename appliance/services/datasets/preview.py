"""The first rows of a stored dataset, as JSON-ready values."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from appliance import errors
from appliance.errors import AppError
from appliance.services.datasets.naming import FormatError
from appliance.store.blobs import BlobStore


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


def head(state_dir: Path, dataset: dict[str, Any], rows: int) -> dict[str, Any]:
    from appliance.services.datasets.formats import read_head

    path = BlobStore(state_dir).path(dataset["blake3"])
    try:
        table = read_head(path, dataset["format"], rows)
    except FormatError as exc:
        raise AppError(errors.DATASET_INVALID, str(exc)) from exc
    data = [{k: jsonable(v) for k, v in r.items()} for r in table.to_pylist()]
    return {"dataset_id": dataset["id"], "columns": table.column_names, "rows": data, "count": len(data)}
