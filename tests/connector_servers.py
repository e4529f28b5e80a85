"""Real servers for the connector tests, started on free loopback ports.

PostgreSQL: Debian's server binaries (`/usr/lib/postgresql/<n>/bin`), a fresh cluster in a temp
dir, run as `nobody` when the tests run as root (PostgreSQL refuses root). One server serves a
whole test session; each test makes its own database in it. Without the binaries the tests are
skipped with the command that installs them, never passed silently.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER_PASSWORD = "sf-super-secret-pw"
INSTALL_POSTGRES = "apt-get install -y postgresql  (then pip install 'psycopg[binary]')"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    port: int
    host: str = "127.0.0.1"
    user: str = "postgres"
    password: str = SUPERUSER_PASSWORD

    def connect(self, dbname: str = "postgres") -> object:
        import psycopg

        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=dbname, autocommit=True
        )

    def new_database(self, name: str) -> str:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
        return name


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "nobody", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip(f"PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin; install: {INSTALL_POSTGRES}")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip(f"psycopg is not installed; install: {INSTALL_POSTGRES}")
    root = Path(tempfile.mkdtemp(prefix="sealforge-pg-"))
    data, sockets, pwfile = root / "data", root / "sock", root / "pw"
    sockets.mkdir()
    pwfile.write_text(SUPERUSER_PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "nobody")
        shutil.chown(sockets, "nobody")
        shutil.chown(pwfile, "nobody")
        os.chmod(root, 0o700)
    port = _free_port()
    ctl = str(bin_dir / "pg_ctl")
    subprocess.run(
        _as_owner(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "scram-sha-256",
                f"--pwfile={pwfile}",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40"
    subprocess.run(
        _as_owner([ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "-t", "60", "start"]),
        check=True,
        capture_output=True,
        timeout=90,
    )
    try:
        server = PostgresServer(port)
        deadline = time.monotonic() + 30
        while True:
            try:
                server.connect().close()  # type: ignore[attr-defined]
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield server
    finally:
        subprocess.run(_as_owner([ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
