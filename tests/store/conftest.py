"""Fixtures for store tests: a fresh, migrated database per test and a tenant or two in it.

`state_dir` (tests/conftest.py) releases the connections when the test ends.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def conn(state_dir: Path) -> sqlite3.Connection:
    from appliance.store.open import open_db

    return open_db(state_dir)


@pytest.fixture
def acme(conn: sqlite3.Connection) -> dict[str, Any]:
    from appliance.services import identity

    return identity.create_tenant(conn, "acme", credits=1000)


@pytest.fixture
def globex(conn: sqlite3.Connection) -> dict[str, Any]:
    from appliance.services import identity

    return identity.create_tenant(conn, "globex", credits=1000)
