"""Connectors as the API manages them: create, list, read, change, delete, rotate credentials,
test, browse, and the job bodies of an import or a delivery.

Credentials are write-only: they are validated by the type's schema, sealed (`vault`) and never
put in an answer, a log line or an error message; a view says only whether some are stored and
when they last changed. Settings and the checked target go in the job's params, so the contract
of an import or a delivery records where the data came from or went.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import marshmallow as ma

from appliance import errors
from appliance.clock import now_iso
from appliance.errors import AppError, FieldError, flatten_messages
from appliance.ids import new_id
from appliance.scrub import scrub
from appliance.services.connectors import TYPES, vault
from appliance.services.connectors.base import DIAGNOSES, Connector, ConnectorError, ConnectorType, Environment
from appliance.store import connectors as connectors_store
from appliance.store.db import transaction

MAX_PER_TENANT = 100
T = TypeVar("T")


def type_of(name: str, field: str = "type") -> ConnectorType:
    kind = TYPES.get(name)
    if kind is None:
        raise errors.validation(field, f"one of {', '.join(sorted(TYPES))}")
    if not kind.available:
        raise AppError(
            errors.KIND_NOT_AVAILABLE,
            f"the {name!r} connector type is not available on this appliance yet",
            hint="GET /v1/connectors/types lists the types and which are available.",
        )
    return kind


def load(schema: type[ma.Schema], data: Any, field: str) -> dict[str, Any]:
    """``data`` through a type's schema; each problem named by its path under ``field``."""
    if not isinstance(data, Mapping):
        raise errors.validation(field, "an object")
    try:
        loaded: dict[str, Any] = schema().load(dict(data))
    except ma.ValidationError as exc:
        details = [
            FieldError(d.field.replace("._schema", ""), d.message) for d in flatten_messages(exc.messages, field)
        ]
        raise AppError(
            errors.VALIDATION_FAILED, "; ".join(f"{d.field}: {d.message}" for d in details[:5]), details=details
        ) from exc
    return loaded


def failed(exc: ConnectorError) -> AppError:
    return AppError(errors.CONNECTOR_FAILED, f"{exc.diagnosis}: {scrub(exc.message)}", hint=DIAGNOSES[exc.diagnosis])


def _check_reachable(kind: ConnectorType, settings: Mapping[str, Any], env: Environment) -> None:
    """Refuse at once a host outside the allowed networks or a folder outside the roots; a name
    that does not resolve yet is left for `test` to diagnose."""
    try:
        for host, port in kind.hosts(settings):
            try:
                env.address(host, port)
            except ConnectorError as exc:
                if exc.diagnosis != "dns":
                    raise
        if "path" in settings and kind.name in ("folder", "sqlite"):
            env.folder(str(settings["path"]))
    except ConnectorError as exc:
        raise AppError(
            errors.CONNECTOR_TARGET_NOT_ALLOWED,
            f"settings: {exc.message}",
            details=[FieldError("settings", exc.message)],
        ) from exc


def view(row: dict[str, Any]) -> dict[str, Any]:
    base = f"/v1/connectors/{row['id']}"
    return {
        "id": row["id"],
        "name": row["name"],
        "type": row["type"],
        "description": row["description"],
        "settings": json.loads(row["settings"]),
        "has_credentials": bool(row["credentials"]),
        "credentials_updated_at": row["credentials_updated_at"],
        "last_test": json.loads(row["last_test"]) if row["last_test"] else None,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "_links": {
            "self": base,
            "test": f"{base}/test",
            "browse": f"{base}/browse",
            "import": f"{base}/import",
            "deliver": f"{base}/deliver",
            "credentials": f"{base}/credentials",
        },
    }


def require(conn: sqlite3.Connection, tenant_id: str, connector_id: str) -> dict[str, Any]:
    row = connectors_store.get_connector(conn, connector_id, tenant_id)
    if row is None:
        raise errors.not_found("connector", connector_id)
    return row


def catalogue() -> dict[str, Any]:
    data = []
    for name, kind in sorted(TYPES.items()):
        data.append(
            {
                "type": name,
                "summary": kind.summary,
                "available": kind.available,
                "settings": sorted(kind.settings().fields) if kind.available else [],
                "credentials": sorted(kind.credentials().fields) if kind.available else [],
                "can_write": kind.target is not None,
            }
        )
    return {"data": data, "count": len(data)}


def create(
    conn: sqlite3.Connection, keys_dir: Path, env: Environment, tenant_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    kind = type_of(body["type"])
    settings = load(kind.settings, body.get("settings") or {}, "settings")
    credentials = _completed(kind, settings, load(kind.credentials, body.get("credentials") or {}, "credentials"), {})
    _check_reachable(kind, settings, env)
    connector_id, now = new_id("con"), now_iso()
    with transaction(conn):
        if connectors_store.count_connectors(conn, tenant_id) >= MAX_PER_TENANT:
            raise AppError(
                errors.CONFLICT,
                f"the tenant has {MAX_PER_TENANT} connectors already",
                hint="Delete connectors you no longer use.",
            )
        connectors_store.insert_connector(
            conn,
            {
                "id": connector_id,
                "tenant_id": tenant_id,
                "name": body["name"],
                "type": kind.name,
                "description": body.get("description") or "",
                "settings": json.dumps(settings, sort_keys=True),
                "credentials": vault.seal(keys_dir, connector_id, credentials) if credentials else None,
                "credentials_updated_at": now if credentials else None,
                "created_at": now,
                "updated_at": now,
            },
        )
    return view(require(conn, tenant_id, connector_id))


def listing(conn: sqlite3.Connection, tenant_id: str, limit: int, after: str | None) -> dict[str, Any]:
    return connectors_store.page_connectors(conn, tenant_id, limit, after).listing(view)


def get(conn: sqlite3.Connection, tenant_id: str, connector_id: str) -> dict[str, Any]:
    return view(require(conn, tenant_id, connector_id))


def update(
    conn: sqlite3.Connection, keys_dir: Path, env: Environment, tenant_id: str, connector_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Change the name, description, settings (replaced whole) or credentials (a rotation)."""
    row = require(conn, tenant_id, connector_id)
    kind = type_of(row["type"])
    changes: dict[str, Any] = {k: body[k] for k in ("name", "description") if k in body}
    settings = json.loads(row["settings"])
    if "settings" in body:
        settings = load(kind.settings, body["settings"], "settings")
        _check_reachable(kind, settings, env)
        changes["settings"] = json.dumps(settings, sort_keys=True)
        changes["last_test"] = None
    if "credentials" in body:
        changes.update(_sealed(keys_dir, kind, row, settings, body["credentials"]))
    elif "settings" in body and kind.complete_credentials is not None:
        stored = vault.open_credentials(keys_dir, connector_id, row["credentials"])
        completed = _completed(kind, settings, dict(stored), stored)
        if completed != stored:  # e.g. a secured policy now needs a client certificate
            changes.update(credentials=vault.seal(keys_dir, connector_id, completed), credentials_updated_at=now_iso())
    changes["updated_at"] = now_iso()
    with transaction(conn):
        require(conn, tenant_id, connector_id)
        connectors_store.update_connector(conn, connector_id, changes)
    return view(require(conn, tenant_id, connector_id))


def _completed(
    kind: ConnectorType, settings: Mapping[str, Any], given: dict[str, Any], stored: Mapping[str, Any]
) -> dict[str, Any]:
    return kind.complete_credentials(settings, given, stored) if kind.complete_credentials else given


def _sealed(
    keys_dir: Path,
    kind: ConnectorType,
    row: Mapping[str, Any],
    settings: Mapping[str, Any],
    given: Any,
) -> dict[str, Any]:
    """New credentials sealed, completed by the type against what is stored now."""
    credentials = load(kind.credentials, given, "credentials")
    if kind.complete_credentials is not None:
        stored = vault.open_credentials(keys_dir, row["id"], row["credentials"])
        credentials = _completed(kind, settings, credentials, stored)
    return {
        "credentials": vault.seal(keys_dir, row["id"], credentials) if credentials else None,
        "credentials_updated_at": now_iso(),
        "last_test": None,
    }


def rotate(
    conn: sqlite3.Connection, keys_dir: Path, tenant_id: str, connector_id: str, credentials: Any
) -> dict[str, Any]:
    row = require(conn, tenant_id, connector_id)
    changes = _sealed(keys_dir, type_of(row["type"]), row, json.loads(row["settings"]), credentials)
    with transaction(conn):
        connectors_store.update_connector(conn, connector_id, {**changes, "updated_at": now_iso()})
    return view(require(conn, tenant_id, connector_id))


def delete(conn: sqlite3.Connection, tenant_id: str, connector_id: str) -> dict[str, Any]:
    with transaction(conn):
        row = require(conn, tenant_id, connector_id)
        connectors_store.delete_connector(conn, connector_id)
    return view(row)


def guarded(call: Callable[..., T], *args: Any) -> T:
    """``call(*args)``, with a client library's unforeseen exception made a `protocol` diagnosis: a
    remote server that misbehaves is the connector's answer, never a 500 of the appliance."""
    try:
        return call(*args)
    except (ConnectorError, AppError):
        raise
    except Exception as exc:
        raise ConnectorError("protocol", f"{type(exc).__name__}: {exc}") from exc


def open_connector(keys_dir: Path, env: Environment, row: Mapping[str, Any]) -> Connector:
    kind = type_of(row["type"])
    assert kind.open is not None
    credentials = vault.open_credentials(keys_dir, row["id"], row["credentials"])
    return kind.open(json.loads(row["settings"]), credentials, env)


def test(
    conn: sqlite3.Connection, keys_dir: Path, env: Environment, tenant_id: str, connector_id: str
) -> dict[str, Any]:
    """Reach the server, log in, look at what the account may see; the answer says what failed."""
    row = require(conn, tenant_id, connector_id)
    started = time.monotonic()
    try:
        details = guarded(open_connector(keys_dir, env, row).test)
        result: dict[str, Any] = {"ok": True, "diagnosis": None, "message": "connected", "details": details}
    except ConnectorError as exc:
        result = {
            "ok": False,
            "diagnosis": exc.diagnosis,
            "message": scrub(exc.message),
            "hint": DIAGNOSES[exc.diagnosis],
            "details": {},
        }
    result["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
    result["tested_at"] = now_iso()
    with transaction(conn):
        if connectors_store.get_connector(conn, connector_id, tenant_id) is not None:
            connectors_store.update_connector(conn, connector_id, {"last_test": json.dumps(result)})
    return result


def browse(
    conn: sqlite3.Connection,
    keys_dir: Path,
    env: Environment,
    tenant_id: str,
    connector_id: str,
    path: str,
    limit: int,
    after: str | None,
) -> dict[str, Any]:
    row = require(conn, tenant_id, connector_id)
    try:
        page = guarded(open_connector(keys_dir, env, row).browse, path, after, limit)
    except ConnectorError as exc:
        raise failed(exc) from exc
    data = [
        {"name": e.name, "path": e.path, "kind": e.kind, "size": e.size, "children": e.children, "detail": e.detail}
        for e in page.entries
    ]
    return {
        "path": path,
        "data": data,
        "count": len(data),
        "has_more": page.next_cursor is not None,
        "next_after": page.next_cursor,
    }


def snapshot(row: Mapping[str, Any]) -> dict[str, Any]:
    """What the contract records of the connector: its id, type and settings (no credentials)."""
    return {"id": row["id"], "type": row["type"], "settings": json.loads(row["settings"])}


def import_body(conn: sqlite3.Connection, tenant_id: str, connector_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The job body of an import: the `connector_import` kind with the checked source."""
    row = require(conn, tenant_id, connector_id)
    kind = type_of(row["type"])
    source = load(kind.source, body.get("source") or {}, "source")
    params = {"connector": snapshot(row), "source": source, "name": body.get("name") or ""}
    return {"kind": "connector_import", "params": params, "description": body.get("description") or ""}


def deliver_body(conn: sqlite3.Connection, tenant_id: str, connector_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The job body of a delivery: the `connector_deliver` kind with the checked target."""
    row = require(conn, tenant_id, connector_id)
    kind = type_of(row["type"])
    if kind.target is None:
        raise errors.validation("target", f"a {kind.name} connector is a source only")
    target = load(kind.target, body.get("target") or {}, "target")
    params = {
        "connector": snapshot(row),
        "target": target,
        "job_id": body["job_id"],
        "artifacts": list(body.get("artifacts") or []),
    }
    return {"kind": "connector_deliver", "params": params, "description": body.get("description") or ""}
