"""One PostgreSQL server, one S3 server and one MQTT broker per test session for the connector tests
(tests/connector_servers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connector_servers import (
    MqttBroker,
    PostgresServer,
    S3Server,
    mosquitto_broker,
    postgres_server,
    s3_server,
)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture(scope="session")
def broker() -> Iterator[MqttBroker]:
    with mosquitto_broker() as server:
        yield server
