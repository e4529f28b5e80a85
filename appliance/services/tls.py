"""HTTPS for the API: which certificate it serves, and whether it may serve plain HTTP at all.

Why: API keys and bearer tokens are sent on every request, so an API reachable from the plant LAN
must not speak cleartext. The rule (``[server] tls``, default ``"auto"``): on a loopback address
the API serves HTTP unless a certificate is configured; on any other address it serves HTTPS,
with the operator's certificate (``tls_cert``/``tls_key``) or one the appliance makes itself at
first need under ``<state>/tls/``. Plain HTTP off loopback needs an explicit ``--insecure-http``
(or ``insecure_http = true``), and the API then warns loudly; without it the start is refused.

The self-made certificate is ECDSA P-256 (every TLS client speaks it), valid ten years, named for
localhost, 127.0.0.1, ::1, the host names and this machine's IPv4 addresses. It is made once and
reused, because clients pin it: its SHA-256 fingerprint (of the DER certificate, colon hex as
browsers show it) is what ``sealforge admin bootstrap`` and ``sealforge config show`` print and
what ``sealforge-client --pin`` checks. Delete ``<state>/tls/`` to get a new one.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import ipaddress
import os
import shutil
import socket
import ssl
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from appliance import errors
from appliance.addresses import is_loopback
from appliance.errors import AppError
from appliance.fsutil import write_atomic

TLS_SUBDIR = "tls"
CERT_FILE = "server.crt"
KEY_FILE = "server.key"
VALIDITY_DAYS = 3650
MODES = ("auto", "on", "off")
_WILDCARDS = frozenset({"", "0.0.0.0", "::", "[::]"})
_SIOCGIFADDR = 0x8915


@dataclass(frozen=True)
class Certificate:
    """A server certificate and key on disk, with what a client needs to trust it."""

    cert_path: Path
    key_path: Path
    source: str  # "config" (the operator's files) or "self-made"
    fingerprint: str  # SHA-256 of the DER certificate, colon hex
    spki_pin: str  # sha256//<base64 SHA-256 of the public key>, the form `curl --pinnedpubkey` takes
    not_after: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "cert": str(self.cert_path),
            "fingerprint_sha256": self.fingerprint,
            "spki_pin": self.spki_pin,
            "not_after": self.not_after,
        }


@dataclass(frozen=True)
class Plan:
    """How the API will listen: ``certificate`` None means plain HTTP."""

    host: str
    certificate: Certificate | None
    insecure: bool  # plain HTTP on an address other hosts can reach

    @property
    def scheme(self) -> str:
        return "https" if self.certificate else "http"

    def gunicorn_options(self) -> dict[str, Any]:
        if self.certificate is None:
            return {}
        return {"certfile": str(self.certificate.cert_path), "keyfile": str(self.certificate.key_path)}


def fingerprint_of(der: bytes) -> str:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return digest.finalize().hex(":").upper()


def _describe(cert_path: Path, key_path: Path, source: str) -> Certificate:
    cert = _load_first_certificate(cert_path)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    return Certificate(
        cert_path=cert_path,
        key_path=key_path,
        source=source,
        fingerprint=fingerprint_of(cert.public_bytes(serialization.Encoding.DER)),
        spki_pin="sha256//" + base64.b64encode(digest.finalize()).decode(),
        not_after=cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def _load_first_certificate(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)[0]
    return x509.load_der_x509_certificate(data)


def _invalid(message: str, hint: str | None = None) -> AppError:
    return AppError(errors.TLS_CONFIG_INVALID, message, hint=hint)


def _mode(server: dict[str, Any]) -> str:
    mode = str(server.get("tls", "auto")).lower()
    if mode not in MODES:
        raise _invalid(f"[server] tls is {mode!r}; it must be one of auto, on, off")
    return mode


def _operator_paths(server: dict[str, Any]) -> tuple[Path, Path] | None:
    cert, key = str(server.get("tls_cert") or ""), str(server.get("tls_key") or "")
    if not cert and not key:
        return None
    if not cert or not key:
        raise _invalid("[server] tls_cert and tls_key must be set together (or both left empty)")
    return Path(cert).expanduser().resolve(), Path(key).expanduser().resolve()


def _check_pair(cert_path: Path, key_path: Path, source: str) -> Certificate:
    """Load the pair the way the server will, so a bad file stops the start with a clear message."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert_path, key_path)
        return _describe(cert_path, key_path, source)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        hint = (
            f"delete {cert_path.parent} to have a new certificate made (clients that pinned the old one must be told)"
            if source == "self-made"
            else "point [server] tls_cert at a PEM certificate (chain) and tls_key at its unencrypted PEM private key"
        )
        raise _invalid(f"cannot use the TLS certificate {cert_path} with key {key_path}: {reason}", hint) from exc


def tls_dir(state_dir: Path) -> Path:
    return state_dir / TLS_SUBDIR


def _interface_addresses() -> list[str]:
    """This machine's IPv4 addresses (Linux ioctl), so clients that dial the LAN address verify."""
    found: list[str] = []
    try:
        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        return found
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for name in names:
            try:
                packed = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue
            found.append(socket.inet_ntoa(packed[20:24]))
    return found


def _subject_names(hosts: Iterable[str]) -> list[str]:
    names = [h.strip("[]") for h in hosts if h not in _WILDCARDS]
    names += [socket.gethostname(), socket.getfqdn(), "localhost", "127.0.0.1", "::1", *_interface_addresses()]
    return [n for n in dict.fromkeys(names) if n]


def self_signed(
    key: Any,
    name: x509.Name,
    alt: list[x509.GeneralName],
    usage: tuple[str, ...],
    purpose: x509.ObjectIdentifier,
    authority_key_id: bool = False,
) -> x509.Certificate:
    """A self-signed end-entity certificate for ``key``, valid from five minutes ago for
    `VALIDITY_DAYS`: the one builder behind the appliance's TLS certificate and the OPC UA
    connector's client certificate, which differ only in the key, the names, the key usages
    (``usage``: the `x509.KeyUsage` flags to set), the extended key usage and whether the
    authority key identifier is written."""
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    flags = dict.fromkeys(_KEY_USAGES, False) | dict.fromkeys(usage, True)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**flags), critical=True)
        .add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
        .add_extension(ski, critical=False)
    )
    if authority_key_id:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    return builder.sign(key, hashes.SHA256())


_KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def make_self_signed(cert_path: Path, key_path: Path, hosts: Iterable[str]) -> None:
    """Write an ECDSA P-256 server certificate (PEM, 0644) and its key (PEM, 0600)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"Sealforge appliance ({socket.gethostname()})"[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sealforge"),
        ]
    )
    alt: list[x509.GeneralName] = []
    for host in _subject_names(hosts):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt.append(x509.DNSName(host))
    cert = self_signed(
        key,
        name,
        alt,
        usage=("digital_signature",),
        purpose=ExtendedKeyUsageOID.SERVER_AUTH,
        authority_key_id=True,
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_atomic(key_path, pem_key, 0o600)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def ensure_self_signed(state_dir: Path, hosts: Iterable[str] = ()) -> Certificate:
    """The self-made pair, made on first need. Both files are written in a private temp folder
    that is renamed into place, so concurrent starts agree on one pair and a crash leaves none."""
    folder = tls_dir(state_dir)
    if not (folder / CERT_FILE).exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tls-", dir=state_dir))
        try:
            make_self_signed(staging / CERT_FILE, staging / KEY_FILE, hosts)
            try:
                os.rename(staging, folder)
            except OSError as exc:
                if not (folder / CERT_FILE).exists():
                    raise _invalid(
                        f"cannot put the self-made TLS certificate in {folder}: {exc.strerror or exc}",
                        f"remove what is in {folder} (it holds no certificate) and start again",
                    ) from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return _check_pair(folder / CERT_FILE, folder / KEY_FILE, "self-made")


def _wants_tls(cfg: dict[str, Any], host: str, insecure_http: bool = False) -> bool:
    server = cfg["server"]
    mode = _mode(server)
    if mode == "off":
        return False
    configured = _operator_paths(server) is not None
    return mode == "on" or configured or not (is_loopback(host) or insecure_http)


def certificate(cfg: dict[str, Any], hosts: Iterable[str] = ()) -> Certificate:
    """The certificate the API serves: the operator's (checked) or the self-made one (made if missing)."""
    configured = _operator_paths(cfg["server"])
    if configured is not None:
        return _check_pair(*configured, "config")
    return ensure_self_signed(Path(cfg["server"]["state_dir"]), [*hosts, str(cfg["server"]["host"])])


def plan(cfg: dict[str, Any], host: str, insecure_http: bool = False) -> Plan:
    """Decide HTTPS or HTTP for binding ``host``; refuse plain HTTP off loopback unless allowed.

    ``insecure_http`` (the flag, or ``[server] insecure_http``) only permits plain HTTP: it replaces
    the self-made certificate but never a configured one, nor ``tls = "on"``."""
    allowed = insecure_http or bool(cfg["server"].get("insecure_http", False))
    if _wants_tls(cfg, host, allowed):
        return Plan(host, certificate(cfg, [host]), insecure=False)
    if is_loopback(host):
        return Plan(host, None, insecure=False)
    if not allowed:
        raise AppError(
            errors.TLS_REQUIRED,
            f"refusing to serve plain HTTP on {host or 'all addresses'}: API keys would cross the network in cleartext",
        )
    return Plan(host, None, insecure=True)


def insecure_warning(host: str, port: int) -> str:
    return (
        f"WARNING: serving PLAIN HTTP on {host}:{port} (--insecure-http / insecure_http): API keys and tokens "
        "cross the network in cleartext; anyone on the LAN can read and reuse them. "
        'Remove the flag (or set [server] tls = "auto") to serve HTTPS.'
    )


def current(cfg: dict[str, Any]) -> Certificate | None:
    """What a client would be shown, without making anything: for `config show` and `bootstrap`."""
    server = cfg["server"]
    if _mode(server) == "off":
        return None
    configured = _operator_paths(server)
    if configured is not None:
        return _check_pair(*configured, "config")
    folder = tls_dir(Path(server["state_dir"]))
    if not (folder / CERT_FILE).exists():
        return None
    return _check_pair(folder / CERT_FILE, folder / KEY_FILE, "self-made")


def prepare(cfg: dict[str, Any]) -> Certificate | None:
    """Make (or check) the certificate before the first start, so `bootstrap` can print what
    clients pin; None when ``tls = "off"``."""
    if _mode(cfg["server"]) == "off":
        return None
    return certificate(cfg)
