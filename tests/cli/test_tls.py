"""The API serves HTTPS off loopback: real `sealforge api`/`serve` processes, curl and the Python
client. "Off loopback" is exercised by binding 0.0.0.0 and connecting through 127.0.0.1, so no
traffic leaves the machine."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sealforge_client import Client

from appliance.cli.main import cli
from appliance.config import load_config
from appliance.errors import AppError
from appliance.services import tls
from tests.conftest import free_port

CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed")


def sealforge(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    assert CURL is not None
    return subprocess.run([CURL, "-sS", "-i", "--max-time", "5", *args], capture_output=True, text=True, timeout=20)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], Path]]]:
    """Start `sealforge <command>` in its own session, its output in a log file; stop it after."""
    procs: list[subprocess.Popen[bytes]] = []

    def run(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"server-{len(procs)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "appliance.cli.main", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "SEALFORGE_SERVER_WORKERS": "1", **(env or {})},
                start_new_session=True,
            )
        procs.append(proc)
        return proc, log

    yield run
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_healthy(url: str, context: ssl.SSLContext | None, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2, context=context) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered /healthz:\n{log.read_text()}")


def wait_for_line(log: Path, text: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        content = log.read_text()
        if text in content:
            return content
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in the log:\n{log.read_text()}")


def bootstrap(state_dir: Path) -> dict[str, str]:
    result = sealforge("admin", "bootstrap", "--state-dir", str(state_dir))
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_plain_http_on_a_lan_address_is_refused(state_dir: Path) -> None:
    port = free_port()
    for command in ("api", "serve"):
        result = sealforge(
            command,
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
            "--state-dir",
            str(state_dir),
            env={"SEALFORGE_SERVER_TLS": "off"},
        )
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert "TLS_REQUIRED" in result.stderr and "cleartext" in result.stderr
        assert "--insecure-http" in result.stderr  # the hint says how to accept it anyway
    assert not (state_dir / "tls").exists()


@needs_curl
def test_https_with_the_self_made_certificate(
    state_dir: Path, start: Callable[..., tuple[subprocess.Popen[bytes], Path]]
) -> None:
    creds = bootstrap(state_dir)
    cert = state_dir / "tls" / "server.crt"
    assert oct((state_dir / "tls" / "server.key").stat().st_mode & 0o777) == "0o600"
    fingerprint = creds["tls_fingerprint"]
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    assert fingerprint == hashes_sha256_colon(der)
    shown = json.loads(sealforge("config", "show", "--state-dir", str(state_dir)).stdout)
    assert shown["tls_certificate"]["fingerprint_sha256"] == fingerprint
    assert shown["tls_certificate"]["source"] == "self-made"

    port = free_port()
    proc, log = start("api", "--host", "0.0.0.0", "--port", str(port), "--state-dir", str(state_dir))
    url = f"https://127.0.0.1:{port}"
    wait_healthy(url, ssl.create_default_context(cafile=str(cert)), proc, log)
    assert bootstrap(state_dir)["tls_fingerprint"] == fingerprint  # made once, then reused

    trusted = curl("--cacert", str(cert), f"{url}/healthz")
    assert trusted.returncode == 0 and " 200" in trusted.stdout.splitlines()[0], trusted.stderr
    assert "strict-transport-security: max-age=31536000" in trusted.stdout.lower()
    untrusted = curl(f"{url}/healthz")
    assert untrusted.returncode == 60, untrusted.stderr  # curl: peer certificate cannot be authenticated
    spki_pin = shown["tls_certificate"]["spki_pin"]  # curl's own pinning, with no CA file at all
    assert curl("--insecure", "--pinnedpubkey", spki_pin, f"{url}/healthz").returncode == 0
    assert curl("--insecure", "--pinnedpubkey", "sha256//" + "A" * 43 + "=", f"{url}/healthz").returncode == 90
    cleartext = curl(f"http://127.0.0.1:{port}/healthz")
    assert cleartext.returncode != 0 and "200" not in cleartext.stdout

    with Client(url, api_key=creds["api_key"], ca_file=cert) as sf:
        assert sf.whoami()["scopes"] == ["admin"]
    with Client(url, api_key=creds["api_key"], pin_sha256=fingerprint) as sf:
        assert sf.whoami()["scopes"] == ["admin"]
    with Client(url, api_key=creds["api_key"]) as sf, pytest.raises(httpx.ConnectError):
        sf.whoami()  # the system CAs do not vouch for a self-made certificate

    wrong = "AA:" * 31 + "AA"
    mismatched = Client(f"{url}/pin-mismatch-marker", api_key=creds["api_key"], pin_sha256=wrong)
    with mismatched as sf, pytest.raises(httpx.ConnectError, match="not the pinned one"):
        sf.whoami()
    assert curl("--cacert", str(cert), f"{url}/healthz?after-marker").returncode == 0  # logged after the refusal
    content = wait_for_line(log, "/healthz?after-marker")
    assert "pin-mismatch-marker" not in content, "the request was sent to a server that failed the pin"


def hashes_sha256_colon(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def make_site_ca_and_leaf(folder: Path) -> tuple[Path, Path, Path]:
    """A site CA and a server certificate it signed for 127.0.0.1, as an operator would bring."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Plant 7 site CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealforge.plant7.lan")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("sealforge.plant7.lan"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = folder / "site-ca.pem", folder / "appliance.pem", folder / "appliance.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


@needs_curl
def test_operator_certificate_from_config(
    tmp_path: Path, state_dir: Path, start: Callable[..., tuple[subprocess.Popen[bytes], Path]]
) -> None:
    ca, cert, key = make_site_ca_and_leaf(tmp_path)
    env = {"SEALFORGE_SERVER_TLS_CERT": str(cert), "SEALFORGE_SERVER_TLS_KEY": str(key)}
    creds = json.loads(sealforge("admin", "bootstrap", "--state-dir", str(state_dir), env=env).stdout)
    assert creds["tls_fingerprint"] == hashes_sha256_colon(ssl.PEM_cert_to_DER_cert(cert.read_text()))
    port = free_port()
    # a configured certificate means HTTPS even on loopback
    proc, log = start("api", "--host", "127.0.0.1", "--port", str(port), "--state-dir", str(state_dir), env=env)
    url = f"https://127.0.0.1:{port}"
    wait_healthy(url, ssl.create_default_context(cafile=str(ca)), proc, log)
    trusted = curl("--cacert", str(ca), f"{url}/healthz")
    assert trusted.returncode == 0 and "strict-transport-security" in trusted.stdout.lower(), trusted.stderr
    with Client(url, api_key=creds["api_key"], ca_file=ca) as sf:
        assert sf.whoami()["scopes"] == ["admin"]
    assert not (state_dir / "tls").exists(), "no self-made certificate when the operator's is configured"


def test_bad_tls_settings_stop_the_start_with_a_clear_error(tmp_path: Path, state_dir: Path) -> None:
    _, cert, key = make_site_ca_and_leaf(tmp_path)
    (tmp_path / "other").mkdir()
    _, other_cert, _ = make_site_ca_and_leaf(tmp_path / "other")
    cases = [
        ({"tls_cert": str(cert)}, "set together"),
        ({"tls_cert": str(other_cert), "tls_key": str(key)}, "cannot use"),
        ({"tls_cert": str(tmp_path / "nope.pem"), "tls_key": str(key)}, "cannot use"),
        ({"tls": "maybe"}, "auto, on, off"),
    ]
    for server, message in cases:
        cfg = load_config(overrides={"server": {**server, "state_dir": str(state_dir)}})
        with pytest.raises(AppError) as caught:
            tls.plan(cfg, "0.0.0.0")
        assert caught.value.code == "TLS_CONFIG_INVALID" and message in caught.value.message
        env = {f"SEALFORGE_SERVER_{k.upper()}": v for k, v in server.items()}
        shown = CliRunner().invoke(cli, ["config", "show", "--state-dir", str(state_dir)], env=env)
        assert shown.exit_code == 0 and "TLS_CONFIG_INVALID" in json.loads(shown.output)["tls_certificate"]["error"]
    # and the CLI stops with the code, the reason and a hint, before gunicorn starts
    env = {"SEALFORGE_SERVER_TLS_CERT": str(other_cert), "SEALFORGE_SERVER_TLS_KEY": str(key)}
    result = sealforge(
        "api", "--host", "0.0.0.0", "--port", str(free_port()), "--state-dir", str(state_dir), env=env, timeout=30
    )
    assert result.returncode == 1 and "TLS_CONFIG_INVALID" in result.stderr and "hint:" in result.stderr
    assert "Starting gunicorn" not in result.stdout + result.stderr
    assert not (state_dir / "tls").exists()


def test_insecure_http_serves_cleartext_on_a_lan_address_with_a_warning(
    state_dir: Path, start: Callable[..., tuple[subprocess.Popen[bytes], Path]]
) -> None:
    port = free_port()
    proc, log = start(
        "serve", "--host", "0.0.0.0", "--port", str(port), "--insecure-http", "--state-dir", str(state_dir)
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, None, proc, log)
    with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
        assert "Strict-Transport-Security" not in response.headers
    # No proxy is trusted, not even a local one: a forged scheme header changes nothing.
    forged = urllib.request.Request(f"{url}/healthz", headers={"X-Forwarded-Proto": "https"})
    with urllib.request.urlopen(forged, timeout=2) as response:
        assert "Strict-Transport-Security" not in response.headers
    content = wait_for_line(log, "WARNING: serving PLAIN HTTP on 0.0.0.0")
    assert f"sealforge serve: http://0.0.0.0:{port}" in content
    assert not (state_dir / "tls").exists()


@pytest.mark.parametrize(
    ("server", "host", "flag", "expected"),
    [
        ({}, "127.0.0.1", False, "http"),
        ({}, "127.0.0.2", False, "http"),
        ({}, "localhost", False, "http"),
        ({}, "::1", False, "http"),
        ({}, "0.0.0.0", False, "https self-made"),
        ({}, "192.0.2.10", False, "https self-made"),
        ({}, "appliance.plant7.lan", False, "https self-made"),
        ({}, "0.0.0.0", True, "http insecure"),
        ({"insecure_http": True}, "0.0.0.0", False, "http insecure"),
        ({"tls": "on"}, "127.0.0.1", False, "https self-made"),
        ({"tls": "on"}, "0.0.0.0", True, "https self-made"),
        ({"tls": "off"}, "127.0.0.1", False, "http"),
        ({"tls": "off"}, "0.0.0.0", False, "TLS_REQUIRED"),
        ({"tls": "off"}, "0.0.0.0", True, "http insecure"),
        ({"operator": True}, "127.0.0.1", False, "https config"),
        ({"operator": True}, "0.0.0.0", True, "https config"),
    ],
)
def test_the_decision_table(
    tmp_path: Path, state_dir: Path, server: dict[str, object], host: str, flag: bool, expected: str
) -> None:
    settings = {k: v for k, v in server.items() if k != "operator"}
    if server.get("operator"):
        _, cert, key = make_site_ca_and_leaf(tmp_path)
        settings.update(tls_cert=str(cert), tls_key=str(key))
    cfg = load_config(overrides={"server": {**settings, "state_dir": str(state_dir)}})
    try:
        listen = tls.plan(cfg, host, flag)
    except AppError as exc:
        got = exc.code
    else:
        got = listen.scheme
        got += f" {listen.certificate.source}" if listen.certificate else (" insecure" if listen.insecure else "")
    assert got == expected
