"""One PostgreSQL server, one S3 server and one MQTT broker per test session for the connector tests
(tests/connector_servers.py)."""

from tests.connector_servers import broker, pg_server, s3

__all__ = ["broker", "pg_server", "s3"]
