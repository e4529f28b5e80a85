"""Self-signed OPC UA application certificates: made once, then reused.

OPC UA clients pin the server's certificate (an HMI asks the operator to trust it once), so a new
certificate on every start would break every configured client: the server makes its certificate
at first start in the directory it is given and loads the same files on every later start.

The certificate follows OPC UA Part 6 for application instance certificates: RSA 2048, SHA-256,
the application URI as a URI subjectAltName (clients check it against the server's
ApplicationUri), the host names and addresses as DNS/IP subjectAltNames, and key usages for
signing and key encipherment. The private key file is written with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from simulators.fsutil import write_atomic

CERT_FILE = "server_cert.der"
KEY_FILE = "server_key.pem"
VALIDITY_DAYS = 3650


@dataclass(frozen=True)
class CertificatePair:
    cert_path: Path
    key_path: Path
    created: bool  # False when existing files were reused


def make_certificate(
    cert_path: Path,
    key_path: Path,
    application_uri: str,
    common_name: str,
    hosts: Sequence[str] = (),
    client: bool = False,
) -> None:
    """Write a self-signed application certificate (DER) and its private key (PEM, unencrypted, 0600)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sealforge"),
    ])
    alt: list[x509.GeneralName] = [x509.UniformResourceIdentifier(application_uri)]
    for host in dict.fromkeys(hosts):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt.append(x509.DNSName(host))
    now = dt.datetime.now(dt.UTC)
    usage = [ExtendedKeyUsageOID.CLIENT_AUTH] if client else [ExtendedKeyUsageOID.SERVER_AUTH,
                                                                ExtendedKeyUsageOID.CLIENT_AUTH]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=True,
                          data_encipherment=True, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    write_atomic(key_path, pem, 0o600)
    # Private too: only the server reads it; clients get it in the handshake (or from the operator).
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.DER), 0o600)


def ensure_server_certificate(directory: str | os.PathLike[str], application_uri: str,
                              hosts: Sequence[str] = ()) -> CertificatePair:
    """The server certificate in `directory`, made on first use. An existing pair is reused as it is
    (even for another host), because clients have pinned it; delete both files to get a new one."""
    folder = Path(directory)
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    if cert_path.is_file() and key_path.is_file():
        return CertificatePair(cert_path, key_path, False)
    names = [*hosts, socket.gethostname(), "localhost", "127.0.0.1"]
    make_certificate(cert_path, key_path, application_uri, f"Sealforge live plant ({socket.gethostname()})", names)
    return CertificatePair(cert_path, key_path, True)


def certificate_fingerprint(cert_path: Path) -> str:
    """SHA-256 fingerprint (hex, colon-separated) for the operator to compare when trusting it."""
    cert = x509.load_der_x509_certificate(cert_path.read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()

