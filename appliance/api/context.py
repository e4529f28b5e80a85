"""Per-request access to the appliance config, state dir, database and caller."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path
from typing import Any

from flask import current_app, g, request

from appliance import errors
from appliance.errors import AppError
from appliance.jobs.fanout import Hub
from appliance.services.principal import Principal


def config() -> dict[str, Any]:
    cfg: dict[str, Any] = current_app.config["SEALFORGE"]
    return cfg


_state_dirs: dict[str, Path] = {}


def state_dir() -> Path:
    """The configured state dir; the Path is built once per value, not on every request."""
    configured = config()["server"]["state_dir"]
    path = _state_dirs.get(configured)
    if path is None:
        path = _state_dirs.setdefault(configured, Path(configured))
    return path


def keys_dir() -> Path:
    return state_dir() / "keys"


def get_db() -> sqlite3.Connection:
    """The request's connection, borrowed from the process's pool and given back when it ends."""
    if "db" not in g:
        g.db = current_app.extensions["sealforge_db_pool"].borrow()
    conn: sqlite3.Connection = g.db
    return conn


def give_back_db(_error: BaseException | None = None) -> None:
    """Teardown: the request's connection goes back to the pool (a stream's body, iterated after
    this, reads nothing through it)."""
    conn = g.pop("db", None)
    if conn is not None:
        current_app.extensions["sealforge_db_pool"].give_back(conn)


def principal() -> Principal:
    who = g.get("principal")
    if who is None:
        raise AppError(errors.UNAUTHENTICATED)
    return who  # type: ignore[no-any-return]


def streams() -> Hub:
    """This process's fan-out hub for event streams (made by `create_app`)."""
    hub: Hub = current_app.extensions["sealforge_streams"]
    return hub


def client_socket() -> socket.socket | None:
    """The client's connection, where the server gives it (gunicorn does), for the event streams'
    hang-up watcher; None under a server that does not (the Flask test client)."""
    sock = request.environ.get("gunicorn.socket")
    return sock if isinstance(sock, socket.socket) else None
