"""Per-request access to the appliance config, state dir, database and caller."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from flask import current_app, g

from appliance import errors
from appliance.errors import AppError
from appliance.services.principal import Principal
from appliance.store.open import open_db


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
    if "db" not in g:
        g.db = open_db(state_dir())
    conn: sqlite3.Connection = g.db
    return conn


def principal() -> Principal:
    who = g.get("principal")
    if who is None:
        raise AppError(errors.UNAUTHENTICATED)
    return who  # type: ignore[no-any-return]
