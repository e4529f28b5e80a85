"""What `RadMahClient` and `AsyncRadMahClient` share: where the appliance is, the Artifact record,
the job body of `jobs.create`, and which of a job's artifacts is "the" table."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealforge_client.tables import table_format

# Where the appliance is when `base_url` is not given: the first of these that is set.
BASE_URL_VARIABLES = ("RADMAH_BASE_URL", "SEALFORGE_URL")
# The API key when `api_key` is not given.
API_KEY_VARIABLES = ("RADMAH_API_KEY", "SEALFORGE_API_KEY")
DEFAULT_POLL_SECONDS = 2.0


def _first_env(names: tuple[str, ...]) -> str | None:
    return next((os.environ[name] for name in names if os.environ.get(name)), None)


def resolve(api_key: str | None, base_url: str | None, token: str | None) -> tuple[str, str | None]:
    """The base URL and API key from the arguments, else from the environment.

    There is no built-in default address: the hosted service's URL means nothing to an appliance,
    and guessing a local one would send the key somewhere nobody chose."""
    url = base_url or _first_env(BASE_URL_VARIABLES)
    if not url:
        raise ValueError(
            "say where the appliance is: RadMahClient(base_url='http://host:8080', ...) "
            f"or set {' or '.join(BASE_URL_VARIABLES)}"
        )
    key = api_key or (None if token else _first_env(API_KEY_VARIABLES))
    return url, key


def create_body(
    rows: int | None,
    description: str | None,
    kind: str | None,
    dataset_id: str | None,
    params: dict[str, Any] | None,
) -> dict[str, Any]:
    """`Client.submit` arguments for `jobs.create`: the published form (``rows`` and a
    ``description``, the kind left to the appliance), with a dataset as the job's input."""
    if kind is None and dataset_id is not None:
        kind = "synthesize"
    return {
        "kind": kind,
        "params": params,
        "rows": rows,
        "description": description or "",
        "inputs": [dataset_id] if dataset_id else None,
    }


@dataclass(frozen=True)
class Artifact:
    """One output of a job. ``content_hash`` is the BLAKE3 of its bytes."""

    id: str
    job_id: str
    name: str
    artifact_type: str | None
    content_hash: str
    media_type: str
    size: int
    created_at: str
    data: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Artifact:
        return cls(
            id=data["id"],
            job_id=data.get("job_id", ""),
            name=data.get("name", ""),
            artifact_type=data.get("artifact_type"),
            # an appliance from before the published field names has the same value as `blake3`
            content_hash=data.get("content_hash") or data.get("blake3", ""),
            media_type=data.get("media_type", ""),
            size=int(data.get("size", 0)),
            created_at=data.get("created_at", ""),
            data=data,
        )


def pick_table(artifacts: list[dict[str, Any]], table: str | None, job_id: str) -> dict[str, Any]:
    """The artifact `to_dataframe` and `download` mean: the one named ``table`` (with or without
    its suffix); else the job's only table; else, of several, the largest file, which for a
    parent/child description is the child table (transactions rather than customers)."""
    tables = [a for a in artifacts if table_format(a["name"])]
    if table is not None:
        for artifact in tables:
            if table in (artifact["name"], Path(artifact["name"]).stem):
                return artifact
        raise ValueError(f"{job_id} has no table {table!r}; it has {[a['name'] for a in tables]}")
    if not tables:
        raise ValueError(f"{job_id} has no table artifact (has it succeeded?)")
    return max(tables, key=lambda a: int(a.get("size", 0)))
