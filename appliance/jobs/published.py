"""The published API's job bodies, read into the native form; and which queue a job goes to.

The pages the appliance reproduces (../shared/seeds) create jobs with top-level fields the native
API keeps in ``params``: ``{"rows": 100000, "description": "customer transaction records"}`` (a
`mock` job planned from the text) and ``{"dataset_id": "ds_…", "model": "synthesize", "rows": 10000,
"seed": 42}`` (a `synthesize` job). ``native_body`` rewrites them into ``{kind, params, inputs, …}``
before anything else looks at them, so both forms then share one validation, one contract and one
run; nothing past this module knows which form a job arrived in.

``route_queue`` is the queue routing the jobs page describes: `free` for tenants on the free tier,
`gpu` for kinds that train, `interactive` for small jobs of quick kinds (mock/fabricate up to
``[jobs] interactive_max_rows`` estimated rows), `default` for the rest.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from appliance import errors
from appliance.errors import AppError, FieldError
from appliance.ids import is_id
from appliance.kinds import get_kind
from appliance.kinds.base import Estimate, Kind
from appliance.kinds.synth.synthesize import TRAINING_EXTRAS, TRAINING_PARAMS
from appliance.services.synth.interface import DEFAULT_SYNTHESIZER, SYNTHESIZERS
from appliance.services.synth.multi import HMA
from appliance.store import datasets as datasets_store
from appliance.store import identity as identity_store
from appliance.store import jobs as jobs_store
from appliance.store import models as models_store

DEFAULT_KIND = "mock"
SYNTHESIZE_MODEL = "synthesize"  # the pages' `"model": "synthesize"`: the appliance's default synthesizer
ROWS_KINDS = ("mock", "fabricate", "synthesize")
MODELS_SCANNED = 50  # newest models of the dataset looked at for one with the same settings


def native_body(conn: sqlite3.Connection, tenant_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the published top-level fields (rows, dataset_id, model, a mock's description)
    moved to where the native form has them; a body already native comes back as it was."""
    out = dict(body)
    kind = out.get("kind") or DEFAULT_KIND
    if get_kind(kind) is None:  # the submit answers an unknown kind, naming `kind`
        return {**out, "kind": kind}
    params = dict(out.get("params") or {})
    rows, dataset_id, model = out.pop("rows", None), out.pop("dataset_id", None), out.pop("model", None)
    if kind == "mock" and params.get("schema") is None and params.get("description") is None:
        if not out.get("description"):
            raise _mock_without_source(named_kind=bool(out.get("kind")))
        params["description"] = out["description"]
    if rows is not None:
        if kind not in ROWS_KINDS:
            raise errors.validation("rows", f"applies to {', '.join(ROWS_KINDS)} jobs; give the {kind} kind's params")
        if "rows" in params:
            raise errors.validation("rows", "give rows once: at the top level or in params")
        params["rows"] = rows
    if dataset_id is not None or model is not None:
        if kind != "synthesize":
            raise errors.validation("dataset_id" if dataset_id is not None else "model", "applies to synthesize jobs")
        params, out["inputs"] = _synthesize(conn, tenant_id, params, list(out.get("inputs") or []), dataset_id, model)
    return {**out, "kind": kind, "params": params}


def _mock_without_source(named_kind: bool) -> AppError:
    """A mock job with neither a description nor a schema: every field that would have fixed it."""
    details = [
        FieldError("description", "a mock job needs a description (or params.schema)"),
        FieldError("params.schema", "a mock schema (or a top-level description)"),
    ]
    if not named_kind:
        details.insert(0, FieldError("kind", "not given, so a mock job; name another kind, or describe the rows"))
    return AppError(errors.VALIDATION_FAILED, "; ".join(f"{d.field}: {d.message}" for d in details), details=details)


def _synthesize(
    conn: sqlite3.Connection,
    tenant_id: str,
    params: dict[str, Any],
    inputs: list[str],
    dataset_id: str | None,
    model: str | None,
) -> tuple[dict[str, Any], list[str]]:
    """(params, inputs) of a synthesize job from a dataset: sample a model already trained on that
    dataset's current content with the same settings, else train on it and sample, in this one job."""
    if model is not None and is_id(model, "mdl"):
        if dataset_id is not None:
            raise errors.validation("model", "a model id samples that model; leave dataset_id out")
        if params.get("model_id"):
            raise errors.validation("model", "give the model once: `model` or params.model_id")
        return {**params, "model_id": model}, inputs
    synthesizer = DEFAULT_SYNTHESIZER if model in (None, SYNTHESIZE_MODEL) else model
    if synthesizer not in (*SYNTHESIZERS, HMA):
        names = ", ".join((*SYNTHESIZERS, HMA))
        raise errors.validation("model", f"one of {SYNTHESIZE_MODEL}, {names}, or a model id (mdl_…)")
    if params.get("model_id") or (params.get("synthesizer") and model is not None):
        raise errors.validation("model", "give the model once: `model`, or params.model_id / params.synthesizer")
    wanted = {**TRAINING_PARAMS, **{k: params[k] for k in TRAINING_PARAMS if params.get(k) is not None}}
    wanted["synthesizer"] = synthesizer
    if dataset_id is None:
        found = matching_tables_model(conn, tenant_id, inputs, wanted) if synthesizer == HMA and inputs else None
        if found is not None:  # `"model": "hma"` over related inputs: a model of theirs with these settings
            return {**{k: v for k, v in params.items() if k not in TRAINING_PARAMS}, "model_id": found}, []
        return {**params, "synthesizer": synthesizer}, inputs
    if synthesizer == HMA:
        raise errors.validation("dataset_id", "hma models 2-8 related datasets: give them as inputs")
    if inputs:
        raise errors.validation("dataset_id", "give the dataset once: dataset_id or inputs")
    if datasets_store.get_dataset(conn, dataset_id, tenant_id) is None:
        raise errors.validation("dataset_id", f"dataset {dataset_id!r} was not found")
    found = matching_model(conn, tenant_id, dataset_id, wanted)
    if found is not None:
        return {**{k: v for k, v in params.items() if k not in TRAINING_PARAMS}, "model_id": found}, []
    return {**params, "synthesizer": synthesizer}, [dataset_id]


def matching_model(conn: sqlite3.Connection, tenant_id: str, dataset_id: str, wanted: dict[str, Any]) -> str | None:
    """The newest model trained (by a `train` job) on the dataset's current content with these
    settings (synthesizer, epochs, sdtype overrides, row cap, holdout, rules, rule finding, class
    column); None when there is none."""
    dataset = datasets_store.get_dataset(conn, dataset_id, tenant_id)
    if dataset is None:
        return None
    for row in models_store.models_of_dataset(conn, tenant_id, dataset_id, MODELS_SCANNED):
        source = row.get("source") or {}
        if source.get("dataset_blake3") != dataset["blake3"]:
            continue
        if _same_settings(conn, tenant_id, row, wanted):
            return str(row["id"])
    return None


def _same_settings(conn: sqlite3.Connection, tenant_id: str, row: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether the `train` job that made the model ``row`` ran with the settings ``wanted``."""
    source = row.get("source") or {}
    job = jobs_store.get_job(conn, row["job_id"], tenant_id)
    if job is None:
        return False
    trained = json.loads(job["contract"])["params"]
    settings = {
        "synthesizer": row["synthesizer"],
        "epochs": trained.get("epochs"),
        "metadata": trained.get("metadata") or {},
        "max_rows": source.get("max_rows"),
        "holdout": source.get("holdout"),
        **{key: trained.get(key, default) for key, default in TRAINING_EXTRAS.items()},
    }
    return bool(settings == {**wanted, "metadata": wanted.get("metadata") or {}})


def matching_tables_model(
    conn: sqlite3.Connection, tenant_id: str, dataset_ids: list[str], wanted: dict[str, Any]
) -> str | None:
    """A multi-table (hma) model trained on exactly these datasets' current content, in any
    order, with these settings (the newest among the first input's models that match, then the
    next input's); None when there is none or a dataset is unknown."""
    current = []
    for dataset_id in dataset_ids:
        dataset = datasets_store.get_dataset(conn, dataset_id, tenant_id)
        if dataset is None:
            return None
        current.append((dataset_id, dataset["blake3"]))
    seen: set[str] = set()
    for dataset_id in dict.fromkeys(dataset_ids):
        for row in models_store.models_of_dataset(conn, tenant_id, dataset_id, MODELS_SCANNED):
            if row["id"] in seen or row["synthesizer"] != HMA:
                continue
            seen.add(row["id"])
            tables = ((row.get("source") or {}).get("tables") or {}).values()
            if sorted((t.get("dataset_id"), t.get("dataset_blake3")) for t in tables) != sorted(current):
                continue
            if _same_settings(conn, tenant_id, row, wanted):
                return str(row["id"])
    return None


def route_queue(
    conn: sqlite3.Connection, tenant_id: str, kind: Kind, asked: str | None, est: Estimate, interactive_max_rows: int
) -> str:
    """The queue a job runs on. A free-tier tenant's jobs all go to `free` (a live run, which holds
    a `sim` thread for its whole life, stays on `sim`); otherwise a queue the caller names, else
    `interactive` for a small job of a quick kind, else the kind's own (`gpu` for training kinds)."""
    tenant = identity_store.tenant_by_id(conn, tenant_id) or {}
    if tenant.get("tier") == "free":
        if asked in (None, "free", "sim"):
            return asked or "free"
        raise errors.validation("queue", "tenants on the free tier run on the free queue")
    if asked:
        return asked
    if kind.interactive and est.rows <= interactive_max_rows:
        return "interactive"
    return kind.queue
