"""Resolving a job's input datasets: ids to their BLAKE3, and at run time to blob paths."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from appliance import errors
from appliance.kinds.base import InputRef, JobFailed
from appliance.store import datasets as datasets_store
from appliance.store.blobs import BlobStore
from appliance.store.open import open_db


def resolve_for_contract(conn: sqlite3.Connection, tenant_id: str, dataset_ids: list[str]) -> list[dict[str, str]]:
    """Each input as {dataset_id, blake3}; an unknown (or another tenant's) id is a 400 on that field."""
    resolved = []
    for index, dataset_id in enumerate(dataset_ids):
        row = datasets_store.get_dataset(conn, dataset_id, tenant_id)
        if row is None:
            raise errors.validation(f"inputs.{index}", f"dataset {dataset_id!r} was not found")
        resolved.append({"dataset_id": dataset_id, "blake3": row["blake3"]})
    return resolved


def input_refs(state_dir: Path, inputs: list[dict[str, str]], tenant_id: str) -> list[InputRef]:
    conn = open_db(state_dir)
    store = BlobStore(state_dir)
    refs = []
    for item in inputs:
        row = datasets_store.get_dataset(conn, item["dataset_id"], tenant_id)
        if row is None or row["blake3"] != item["blake3"]:
            raise JobFailed("INPUT_CHANGED", f"input {item['dataset_id']} is gone or no longer matches the contract")
        refs.append(
            InputRef(item["dataset_id"], item["blake3"], store.path(item["blake3"]), row["format"], row["name"])
        )
    return refs
