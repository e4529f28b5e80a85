"""More real servers for the connector tests, started on free loopback ports from Debian's
binaries: MariaDB (`mariadbd`) and OpenSSH's `sshd` serving SFTP.

Each gets a fresh data dir in a temp folder and runs as the test's own user (MariaDB is told
`--user=root` when the tests run as root, which it otherwise refuses). Without the binary the
tests are skipped with the command that installs it, never passed silently.
"""

from __future__ import annotations

import contextlib
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

from tests.connector_servers import _free_port

INSTALL_MARIADB = "apt-get install -y mariadb-server  (then pip install PyMySQL)"
INSTALL_SSHD = "apt-get install -y openssh-server  (then pip install paramiko)"


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                detail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
                raise RuntimeError(f"{what} did not start\n{detail}") from None
            time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class MariaServer:
    port: int
    socket_path: str

    def admin(self, database: str | None = None) -> object:
        """A root connection over the server's socket (root has no password and no TCP login)."""
        import pymysql

        return pymysql.connect(unix_socket=self.socket_path, user="root", database=database, autocommit=True)

    def run(self, *statements: str, database: str | None = None) -> None:
        conn = self.admin(database)
        try:
            with conn.cursor() as cur:  # type: ignore[attr-defined]
                for statement in statements:
                    cur.execute(statement)
        finally:
            conn.close()  # type: ignore[attr-defined]


@contextlib.contextmanager
def mariadb_server() -> Iterator[MariaServer]:
    binary = shutil.which("mariadbd") or next((p for p in ("/usr/sbin/mariadbd",) if Path(p).exists()), None)
    install_db = shutil.which("mariadb-install-db")
    if binary is None or install_db is None:
        pytest.skip(f"MariaDB server not found (mariadbd, mariadb-install-db); install: {INSTALL_MARIADB}")
    try:
        import pymysql  # noqa: F401
    except ImportError:
        pytest.skip(f"PyMySQL is not installed; install: {INSTALL_MARIADB}")
    root = Path(tempfile.mkdtemp(prefix="sealforge-maria-"))
    data, sock, log = root / "data", root / "mysqld.sock", root / "error.log"
    user = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [
            install_db,
            "--no-defaults",
            f"--datadir={data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *user,
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    port = _free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--no-defaults",
            f"--datadir={data}",
            f"--socket={sock}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--pid-file={root / 'mysqld.pid'}",
            f"--log-error={log}",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=32M",
            "--innodb-log-file-size=16M",
            "--skip-name-resolve",
            *user,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port, proc, "mariadbd", log)
        yield MariaServer(port, str(sock))
    finally:
        _stop(proc)
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class SftpServer:
    port: int
    user: str
    private_key: str
    files: Path
    host_key_sha256: str


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "nobody", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def sftp_server() -> Iterator[SftpServer]:
    """OpenSSH's sshd on a free loopback port, run unprivileged (as `nobody` when the tests run as
    root, so file permissions hold): its own host key, one account (the user it runs as) that logs
    in with a key, SFTP only. ``files`` is the account's folder, with ``readonly/`` it may not
    write to."""
    import pwd

    binary = next((p for p in ("/usr/sbin/sshd",) if Path(p).exists()), None) or shutil.which("sshd")
    keygen = shutil.which("ssh-keygen")
    if binary is None or keygen is None:
        pytest.skip(f"OpenSSH's sshd or ssh-keygen not found; install: {INSTALL_SSHD}")
    try:
        import paramiko  # noqa: F401
    except ImportError:
        pytest.skip(f"paramiko is not installed; install: {INSTALL_SSHD}")
    root = Path(tempfile.mkdtemp(prefix="sealforge-sftp-"))
    for name in ("host", "client"):
        subprocess.run(
            [keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)], check=True, capture_output=True
        )
    (root / "authorized_keys").write_text((root / "client.pub").read_text())
    files = root / "files"
    (files / "exports").mkdir(parents=True)
    (files / "readonly").mkdir()
    port = _free_port()
    (root / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root / 'host'}\nPidFile {root / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\nStrictModes no\nUsePAM yes\n"
        "PasswordAuthentication yes\nKbdInteractiveAuthentication no\nSubsystem sftp internal-sftp\n"
        "ForceCommand internal-sftp\nLogLevel VERBOSE\n"
    )
    user = pwd.getpwuid(os.geteuid()).pw_name
    if os.geteuid() == 0:
        user = "nobody"
        for path in (root, *root.rglob("*")):
            shutil.chown(path, "nobody")
    host_fp = subprocess.run(
        [keygen, "-lf", str(root / "host.pub")], check=True, capture_output=True, text=True
    ).stdout.split()[1]
    log = root / "sshd.log"
    proc = subprocess.Popen(
        _as_server_user([binary, "-D", "-f", str(root / "sshd_config"), "-E", str(log)]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port, proc, "sshd", log)
        yield SftpServer(port, user, (root / "client").read_text(), files, host_fp)
    finally:
        _stop(proc)
        shutil.rmtree(root, ignore_errors=True)


INSTALL_PYFTPDLIB = "pip install pyftpdlib pyOpenSSL  (the FTP/FTPS test server)"


@dataclass
class FtpServer:
    port: int
    files: Path
    certificate: str
    users: dict[str, str]


def _self_signed(root: Path) -> tuple[Path, str]:
    """A certificate for 127.0.0.1 and its key in one PEM file, and the certificate alone."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = root / "server.pem"
    path.write_text(cert_pem + key_pem)
    return path, cert_pem


@contextlib.contextmanager
def ftp_server() -> Iterator[FtpServer]:
    """pyftpdlib's FTP server (with explicit TLS offered) on a free loopback port, in a thread.

    Debian's FTP daemons (vsftpd, proftpd, pure-ftpd) want root to start and to switch users;
    pyftpdlib runs unprivileged with its own user list and per-folder permissions, which gives
    the permission-denied cases without system accounts. `plant` may read and write everything
    but `readonly/` (read only) and `secret/` (list only); `viewer` may only read."""
    import threading

    try:
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import TLS_FTPHandler
        from pyftpdlib.servers import ThreadedFTPServer
    except ImportError:
        pytest.skip(f"pyftpdlib or pyOpenSSL is not installed; install: {INSTALL_PYFTPDLIB}")
    root = Path(tempfile.mkdtemp(prefix="sealforge-ftp-"))
    files = root / "files"
    for folder in ("exports", "readonly", "secret"):
        (files / folder).mkdir(parents=True)
    certfile, cert_pem = _self_signed(root)
    users = {"plant": "plant-ftp-pw", "viewer": "viewer-ftp-pw"}
    authorizer = DummyAuthorizer()
    authorizer.add_user("plant", users["plant"], str(files), perm="elradfmw")
    authorizer.override_perm("plant", str(files / "readonly"), "elr", recursive=True)
    authorizer.override_perm("plant", str(files / "secret"), "el", recursive=True)
    authorizer.add_user("viewer", users["viewer"], str(files), perm="elr")

    class Handler(TLS_FTPHandler):  # type: ignore[misc]
        pass

    Handler.authorizer = authorizer
    Handler.certfile = str(certfile)
    Handler.passive_ports = None
    server = ThreadedFTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.2}, daemon=True)
    thread.start()
    try:
        yield FtpServer(server.address[1], files, cert_pem, users)
    finally:
        server.close_all()
        thread.join(10)
        shutil.rmtree(root, ignore_errors=True)


INSTALL_INFLUXDB = "apt-get install -y influxdb  (InfluxDB 1.x)"


@dataclass
class InfluxServer:
    url: str
    admin: tuple[str, str] = ("admin", "influx-admin-pw")

    def query(self, statement: str, database: str | None = None) -> dict[str, object]:
        import httpx

        params = {"q": statement, **({"db": database} if database else {})}
        answer = httpx.post(f"{self.url}/query", params=params, auth=self.admin, timeout=30)
        answer.raise_for_status()
        return dict(answer.json())

    def write(self, database: str, lines: str) -> None:
        import httpx

        answer = httpx.post(f"{self.url}/write", params={"db": database}, content=lines, auth=self.admin, timeout=30)
        answer.raise_for_status()


@contextlib.contextmanager
def influxdb_server() -> Iterator[InfluxServer]:
    """Debian's InfluxDB 1.x on a free loopback port, authentication on, an admin made first."""
    import httpx

    binary = shutil.which("influxd") or next((p for p in ("/usr/bin/influxd",) if Path(p).exists()), None)
    if binary is None:
        pytest.skip(f"influxd not found; install: {INSTALL_INFLUXDB}")
    root = Path(tempfile.mkdtemp(prefix="sealforge-influx-"))
    port, rpc = _free_port(), _free_port()
    (root / "influxdb.conf").write_text(
        f'reporting-disabled = true\nbind-address = "127.0.0.1:{rpc}"\n'
        f'[meta]\n  dir = "{root / "meta"}"\n'
        f'[data]\n  dir = "{root / "data"}"\n  wal-dir = "{root / "wal"}"\n  query-log-enabled = false\n'
        f'[http]\n  bind-address = "127.0.0.1:{port}"\n  auth-enabled = true\n  log-enabled = false\n'
        "[monitor]\n  store-enabled = false\n"
    )
    log = root / "influxd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([binary, "run", "-config", str(root / "influxdb.conf")], stdout=out, stderr=out)
    try:
        _wait_port(port, proc, "influxd", log)
        server = InfluxServer(f"http://127.0.0.1:{port}")
        httpx.post(
            f"{server.url}/query",
            params={"q": f"CREATE USER admin WITH PASSWORD '{server.admin[1]}' WITH ALL PRIVILEGES"},
            timeout=30,
        ).raise_for_status()
        yield server
    finally:
        _stop(proc)
        shutil.rmtree(root, ignore_errors=True)


INSTALL_SAMBA = "apt-get install -y samba  (then pip install smbprotocol)"


@dataclass
class SmbServer:
    port: int
    user: str
    password: str
    files: Path


@contextlib.contextmanager
def smb_server() -> Iterator[SmbServer]:
    """Debian's smbd on a free loopback port with its own config, state and password database:
    one account (`nobody`, whose file permissions hold) on the share `plant` (read-write; its
    `readonly/` folder is not writable by the account) and the share `archive` (read-only).
    smbd needs root to start (it switches to the account per connection): without root the
    tests are skipped, and CI runs as root."""
    binary = next((p for p in ("/usr/sbin/smbd",) if Path(p).exists()), None) or shutil.which("smbd")
    if binary is None or shutil.which("smbpasswd") is None:
        pytest.skip(f"smbd not found; install: {INSTALL_SAMBA}")
    if os.geteuid() != 0:
        pytest.skip("smbd needs root to start (it switches users per connection); CI runs the tests as root")
    try:
        import smbclient  # noqa: F401
    except ImportError:
        pytest.skip(f"smbprotocol is not installed; install: {INSTALL_SAMBA}")
    root = Path(tempfile.mkdtemp(prefix="sealforge-smb-"))
    os.chmod(root, 0o755)
    for name in ("private", "lock", "state", "cache", "pid", "ncalrpc"):
        (root / name).mkdir()
    files, archive = root / "files", root / "archive"
    (files / "exports").mkdir(parents=True)
    (files / "readonly").mkdir()
    archive.mkdir()
    shutil.chown(files, "nobody")
    shutil.chown(files / "exports", "nobody")
    port, password = _free_port(), "plant-smb-pw"
    conf = root / "smb.conf"
    conf.write_text(
        f"[global]\n  smb ports = {port}\n  interfaces = 127.0.0.1\n  bind interfaces only = yes\n"
        + "".join(
            f"  {n} {'directory' if n in ('lock', 'state', 'cache', 'pid') else 'dir'} = {root / n}\n"
            for n in ("private", "lock", "state", "cache", "pid", "ncalrpc")
        )
        + f"  log file = {root / 'log.%m'}\n  passdb backend = tdbsam:{root / 'private' / 'passdb.tdb'}\n"
        "  server role = standalone server\n  map to guest = never\n  guest account = daemon\n"
        "  disable netbios = yes\n  server min protocol = SMB2\n  load printers = no\n"
        "  printcap name = /dev/null\n  disable spoolss = yes\n"
        f"[plant]\n  path = {files}\n  read only = no\n[archive]\n  path = {archive}\n  read only = yes\n"
    )
    subprocess.run(
        ["smbpasswd", "-c", str(conf), "-s", "-a", "nobody"],
        input=f"{password}\n{password}\n",
        text=True,
        check=True,
        capture_output=True,
        timeout=30,
    )
    log = root / "smbd.out"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, "-F", "--no-process-group", "-s", str(conf), "--debug-stdout", "-d", "1"],
            stdout=out,
            stderr=out,
            start_new_session=True,  # smbd signals its whole process group when it stops
        )
    try:
        _wait_port(port, proc, "smbd", log)
        yield SmbServer(port, "nobody", password, files)
    finally:
        _stop(proc)
        shutil.rmtree(root, ignore_errors=True)


# The session fixtures of tests/services/connectors and tests/api/connectors: one server of each
# kind, seeded once with what both suites read, so each starts once per test process (each
# conftest imports them; the modules that use one share its xdist group, so under `--dist
# loadgroup` they run on the same worker too). Tests that write leave the seeded files as they were.

FLOWS_ROWS = 3000


def _seed_files(files: Path) -> None:
    (files / "exports" / "flows.csv").write_text("t,flow\n" + "".join(f"{i},{i / 2}\n" for i in range(FLOWS_ROWS)))


@pytest.fixture(scope="session")
def sshd() -> Iterator[SftpServer]:
    with sftp_server() as server:
        _seed_files(server.files)
        (server.files / "exports" / "recipe.csv").write_text("id,secret\n1,x\n")
        (server.files / "exports" / "recipe.csv").chmod(0o600)  # owned by the test, not the server's account
        os.chmod(server.files / "readonly", 0o555)
        yield server


@pytest.fixture(scope="session")
def ftpd() -> Iterator[FtpServer]:
    with ftp_server() as server:
        _seed_files(server.files)
        (server.files / "secret" / "recipe.csv").write_text("id,secret\n1,x\n")
        yield server


@pytest.fixture(scope="session")
def smbd() -> Iterator[SmbServer]:
    with smb_server() as server:
        _seed_files(server.files)
        shutil.chown(server.files / "exports" / "flows.csv", server.user)  # the account may replace it
        yield server


MYSQL_API_PASSWORD = "plant-mysql-pw-0123"


@pytest.fixture(scope="session")
def maria() -> Iterator[MariaServer]:
    """The services' database `plant` (users `engineer`, `reader`) and the routes' database `mes`
    (user `plant_api`, who may also write `delivered`): neither account sees the other's tables."""
    with mariadb_server() as server:
        server.run(
            "SET SESSION max_recursive_iterations = 100000",
            "CREATE DATABASE plant",
            "CREATE DATABASE secret",
            "CREATE TABLE plant.readings (id BIGINT, tag VARCHAR(20), value DOUBLE, raw VARBINARY(8))",
            "INSERT INTO plant.readings WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s"
            " WHERE i < 5000) SELECT i, CONCAT('FIT', i % 7), i * 0.5, UNHEX('FF00') FROM s",
            "CREATE TABLE secret.recipes (id INT, body TEXT)",
            "CREATE USER 'engineer'@'%' IDENTIFIED BY 'engineer-pw'",
            "GRANT ALL ON plant.* TO 'engineer'@'%'",
            "CREATE USER 'reader'@'%' IDENTIFIED BY 'reader-pw'",
            "GRANT SELECT ON plant.readings TO 'reader'@'%'",
            "CREATE DATABASE mes",
            "CREATE DATABASE delivered",
            "CREATE TABLE mes.batches (id BIGINT, product VARCHAR(10), yield DOUBLE, ok BOOLEAN)",
            "INSERT INTO mes.batches WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s"
            " WHERE i < 2000) SELECT i, CONCAT('P', i % 4), 90 + i % 10 * 0.5, i % 3 > 0 FROM s",
            "CREATE TABLE mes.secret_recipes (id INT)",
            "CREATE VIEW mes.endless AS SELECT a.id, REPEAT('x', 300) AS pad"
            " FROM mes.batches a, mes.batches b, mes.batches c",
            f"CREATE USER 'plant_api'@'%' IDENTIFIED BY '{MYSQL_API_PASSWORD}'",
            "GRANT SELECT ON mes.batches TO 'plant_api'@'%'",
            "GRANT SELECT ON mes.endless TO 'plant_api'@'%'",
            "GRANT ALL ON delivered.* TO 'plant_api'@'%'",
        )
        yield server


T0 = 1_700_000_000 * 10**9


@pytest.fixture(scope="session")
def influx() -> Iterator[InfluxServer]:
    """The services' database `plant` (users `engineer`, `viewer`) and the routes' database `site`
    (user `historian`, with 400,000 `vib` points: an import long enough to cancel)."""
    with influxdb_server() as server:
        for statement in (
            "CREATE DATABASE plant",
            "CREATE DATABASE secret",
            "CREATE DATABASE site",
            "CREATE USER engineer WITH PASSWORD 'engineer-pw'",
            "GRANT ALL ON plant TO engineer",
            "CREATE USER viewer WITH PASSWORD 'viewer-pw'",
            "GRANT READ ON plant TO viewer",
            "CREATE USER historian WITH PASSWORD 'historian-pw'",
            "GRANT ALL ON site TO historian",
        ):
            server.query(statement)
        lines = (f"flow,line=L{i % 2} value={i / 2},ok={str(i % 3 > 0).lower()} {T0 + i * 10**9}" for i in range(3000))
        server.write("plant", "\n".join(lines))
        server.write("site", "\n".join(f"flow,line=L{i % 2} value={i / 2} {T0 + i * 10**9}" for i in range(2000)))
        for part in range(4):
            vib = (f"vib,axis=x{i % 3} g={i * 0.001} {T0 + (part * 100_000 + i) * 10**6}" for i in range(100_000))
            server.write("site", "\n".join(vib))
        yield server
