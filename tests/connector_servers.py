"""Real servers for the connector tests, started on free loopback ports (and the appliance's own
OPC UA simulator running a plant, `RunningPlant`).

PostgreSQL: Debian's server binaries (`/usr/lib/postgresql/<n>/bin`), a fresh cluster in a temp
dir, run as `nobody` when the tests run as root (PostgreSQL refuses root). One server serves a
whole test session; each test makes its own database in it. Without the binaries the tests are
skipped with the command that installs them, never passed silently.
"""

from __future__ import annotations

import base64
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

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


INSTALL_MOTO = "pip install 'moto[server]' boto3  (an S3-compatible server from PyPI)"
# moto counts the first requests as unauthenticated: these set up the two IAM users, and every
# later request must carry a valid key and be allowed by the user's policy.
_MOTO_SETUP_ACTIONS = 6


@dataclass
class S3Server:
    url: str
    admin: dict[str, str]
    reader: dict[str, str]

    def client(self, keys: dict[str, str] | None = None) -> object:
        import boto3
        from botocore.config import Config

        keys = keys or self.admin
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=keys["access_key_id"],
            aws_secret_access_key=keys["secret_access_key"],
            config=Config(s3={"addressing_style": "path"}),
        )


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on a free loopback port with IAM enforced: `admin` may do anything,
    `reader` may list and get objects only."""
    import json
    import sys

    try:
        import boto3
        import moto.server  # noqa: F401
    except ImportError:
        pytest.skip(f"moto's server or boto3 is not installed; install: {INSTALL_MOTO}")
    port = _free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(_MOTO_SETUP_ACTIONS)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}"
        iam = boto3.client(
            "iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup"
        )
        users = {}
        for name, actions in (("admin", "*"), ("reader", ["s3:GetObject", "s3:ListBucket", "s3:ListAllMyBuckets"])):
            iam.create_user(UserName=name)
            policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
            iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
            key = iam.create_access_key(UserName=name)["AccessKey"]
            users[name] = {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}
        yield S3Server(url, users["admin"], users["reader"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class RunningPlant:
    """The plant stepping and its server publishing every 0.1 s, as a live run does; `server_options`
    go to the server (security, history_values)."""

    def __init__(self, **server_options: Any) -> None:
        from simulators import LivePlant
        from simulators.protocols.opcua import OpcUaPlantServer
        from tests.simulators.protocols.conftest import LoopThread

        self.loop = LoopThread()
        # noisy sensors: values change each scan
        self.server = OpcUaPlantServer(LivePlant("water"), port=0, **server_options)
        self.loop.run(self.server.start())
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._tick, daemon=True)
        self.thread.start()

    def _tick(self) -> None:
        while not self.stop.wait(0.1):
            self.server.served[0].plant.step(1)
            self.loop.run(self.server.update())

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.loop.run(self.server.stop())
        self.loop.close()


INSTALL_MOSQUITTO = "apt-get install -y mosquitto  (then pip install paho-mqtt)"


@dataclass
class MqttBroker:
    port: int
    host: str = "127.0.0.1"
    users: dict[str, str] | None = None

    def publish(self, topic: str, payloads: list[str], retain: bool = False) -> None:
        """Publish as `plant` with an independent paho client, each message acknowledged."""
        import paho.mqtt.client as mqtt

        assert self.users is not None
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        client.username_pw_set("plant", self.users["plant"])
        client.connect(self.host, self.port)
        client.loop_start()
        for payload in payloads:
            client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()


def _mosquitto() -> str | None:
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if Path(p).exists()), None)


@contextlib.contextmanager
def mosquitto_broker() -> Iterator[MqttBroker]:
    """Debian's mosquitto on a free loopback port: no anonymous access, `plant` may read and write
    `plant/#` and the Sparkplug B namespace `spBv1.0/#`, `viewer` may only read `plant/#`."""
    binary = _mosquitto()
    if binary is None:
        pytest.skip(f"mosquitto not found; install: {INSTALL_MOSQUITTO}")
    try:
        import paho.mqtt  # noqa: F401
    except ImportError:
        pytest.skip(f"paho-mqtt is not installed; install: {INSTALL_MOSQUITTO}")
    root = Path(tempfile.mkdtemp(prefix="sealforge-mqtt-"))
    users = {"plant": "plant-mqtt-pw", "viewer": "viewer-mqtt-pw"}
    passwd = root / "passwd"
    for index, (name, password) in enumerate(users.items()):
        subprocess.run(
            ["mosquitto_passwd", "-b", *(["-c"] if index == 0 else []), str(passwd), name, password],
            check=True,
            capture_output=True,
            timeout=30,
        )
    (root / "acl").write_text(
        "user plant\ntopic readwrite plant/#\ntopic readwrite spBv1.0/#\n\nuser viewer\ntopic read plant/#\n"
    )
    port = _free_port()
    (root / "mosquitto.conf").write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwd}\nacl_file {root / 'acl'}\n"
        f"persistence false\nlog_dest file {root / 'log'}\n" + ("user root\n" if os.geteuid() == 0 else "")
    )
    proc = subprocess.Popen(
        [binary, "-c", str(root / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("mosquitto did not start") from None
                time.sleep(0.1)
        yield MqttBroker(port, users=users)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


SECRET = base64.b64encode(b"logger:logger-pw").decode()


class _LoggerHandler(SimpleHTTPRequestHandler):
    """A data logger's web server: files, Basic auth on `private/`, a 403, an off-site redirect."""

    def log_message(self, *_args: Any) -> None:
        pass

    def _guard(self) -> bool:
        if self.path.startswith("/moved"):
            self.send_response(302)
            self.send_header("Location", "http://8.8.8.8/elsewhere.csv")
            self.end_headers()
            return False
        if self.path.startswith("/private/") and self.headers.get("Authorization") != f"Basic {SECRET}":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="logger"')
            self.end_headers()
            return False
        if self.path.startswith("/forbidden"):
            self.send_error(403)
            return False
        return True

    def do_GET(self) -> None:
        if self._guard():
            super().do_GET()

    def do_HEAD(self) -> None:
        if self._guard():
            super().do_HEAD()


@contextlib.contextmanager
def http_server(root: Path) -> Iterator[str]:
    """The standard library's HTTP server on a free loopback port, serving `root` with
    `exports.csv` (1000 rows) and `private/log.csv` (Basic auth logger:logger-pw)."""
    import functools
    from http.server import ThreadingHTTPServer

    (root / "private").mkdir(exist_ok=True)
    (root / "exports.csv").write_text("t,flow\n" + "".join(f"{i},{i / 2}\n" for i in range(1000)))
    (root / "private" / "log.csv").write_text("t,v\n1,2\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_LoggerHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# The session fixtures of tests/api/connectors and tests/services/connectors: each conftest imports them.
@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture(scope="session")
def broker() -> Iterator[MqttBroker]:
    with mosquitto_broker() as server:
        yield server
