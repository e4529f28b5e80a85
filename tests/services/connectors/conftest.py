"""The connector tests' servers (PostgreSQL, S3, MQTT, MariaDB, InfluxDB, SFTP, FTP, SMB) are session
fixtures of tests/conftest.py, shared with the other connector suite: each starts once per test
process (tests/connector_servers.py, tests/remote_servers.py)."""
