"""Idempotency-Key handling: the first response is stored for a while and replayed on retry.

A key is claimed (``in_flight``) before the handler runs, inside the same write lock that checks
for it, so ten concurrent submits with one key run the handler once: the others see ``in_flight``
(409 with a hint) or, once it is done, the stored answer.

Every route answers with or without a trailing slash (appliance.api.aliases), so ``POST /v1/jobs``
retried as ``POST /v1/jobs/`` is the same request: the path is compared without its trailing
slash, on both sides (records stored before this rule keep matching their retries).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass

from appliance import errors
from appliance.errors import AppError
from appliance.store import idempotency as idempotency_store
from appliance.store.db import transaction


@dataclass(frozen=True)
class Replay:
    status: int
    headers: dict[str, str]
    body: bytes


def canonical_path(path: str) -> str:
    """``path`` as an idempotency record keeps it: without trailing slashes (``/`` stays ``/``)."""
    return path.rstrip("/") or "/"


def begin(
    conn: sqlite3.Connection, tenant_id: str, key: str, method: str, path: str, body_hash: str, ttl_s: float
) -> Replay | None:
    """Claim ``key`` for this request, or return the stored response to replay.

    Raises 409 when the key was used with another body, or while its first request still runs.
    """
    if not key or len(key) > 255:
        raise errors.validation("Idempotency-Key", "must be 1 to 255 characters")
    now = time.time()
    path = canonical_path(path)
    with transaction(conn):
        row = idempotency_store.get_record(conn, tenant_id, key)
        if row is not None and row["created_at"] >= now - ttl_s:
            if row["body_hash"] != body_hash or row["method"] != method or canonical_path(row["path"]) != path:
                raise AppError(errors.IDEMPOTENCY_KEY_REUSED)
            if row["state"] == "in_flight":
                raise AppError(errors.IDEMPOTENCY_IN_PROGRESS)
            return Replay(int(row["status"]), json.loads(row["headers"]), bytes(row["body"]))
        idempotency_store.claim(
            conn,
            {
                "tenant_id": tenant_id,
                "key": key,
                "method": method,
                "path": path,
                "body_hash": body_hash,
                "created_at": now,
            },
        )
    return None


def finish(
    conn: sqlite3.Connection, tenant_id: str, key: str, status: int, headers: dict[str, str], body: bytes
) -> None:
    """Store the first response; a server error releases the key so the client can retry."""
    with transaction(conn):
        if status >= 500:
            idempotency_store.release(conn, tenant_id, key)
        else:
            idempotency_store.complete(conn, tenant_id, key, status, json.dumps(headers), body)


def purge(conn: sqlite3.Connection, ttl_s: float) -> int:
    with transaction(conn):
        return idempotency_store.purge_older_than(conn, time.time() - ttl_s)
