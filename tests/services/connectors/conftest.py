"""One PostgreSQL server per test session for the connector tests (tests/connector_servers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connector_servers import PostgresServer, postgres_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server
