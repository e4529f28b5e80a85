"""Secured OPC UA sessions for the `opcua` connector: the client certificate and the channel.

A signed (Sign) or signed and encrypted (SignAndEncrypt) session needs an application instance
certificate for the client (OPC UA Part 6): the server checks it against its trust list, so an
operator trusts it there once. The connector makes its own at first need (RSA 2048, SHA-256, the
application URI `urn:sealforge:connector:<random>` and the appliance's host name as
subjectAltNames, valid ten years) and keeps it with the other credentials, sealed by the
connector vault; a credentials rotation
keeps it unless `new_client_certificate` asks for a new one (which the server must trust again),
or a certificate and key of the plant's own PKI are given instead. The certificate is public: a
test answers its thumbprint and PEM, and a server that refuses it is diagnosed with the
thumbprint an operator looks for in the server's rejected list.

The server's certificate comes from its endpoint description (GetEndpoints over the None channel,
as every OPC UA client discovers it). `server_certificate_sha256` pins it: a server that shows
another one is refused (`tls`) before any credential is sent. Without a pin the first certificate
seen is used, as an HMI does before its operator confirms the fingerprint; the test answer shows
it so the operator can pin it.
"""

from __future__ import annotations

import hashlib
import re
import socket
import uuid
from collections.abc import Mapping
from typing import Any

import marshmallow as ma

from appliance.services.connectors.base import ConnectorError

POLICIES = ("None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss")
MODES = ("None", "Sign", "SignAndEncrypt")
_SHA256 = re.compile(r"^[0-9A-Fa-f]{64}$")


def fingerprint(value: str) -> str:
    """A SHA-256 fingerprint as hex without separators, lower case."""
    return value.replace(":", "").replace(" ", "").lower()


def colons(hex_digest: str) -> str:
    return ":".join(hex_digest[i : i + 2] for i in range(0, len(hex_digest), 2)).upper()


class Settings(ma.Schema):
    endpoint_url = ma.fields.String(
        required=True,
        validate=[ma.validate.Length(min=1, max=2048), ma.validate.Regexp(r"^opc\.tcp://", error="an opc.tcp:// URL")],
    )
    security_policy = ma.fields.String(load_default="None", validate=ma.validate.OneOf(POLICIES))
    security_mode = ma.fields.String(
        validate=ma.validate.OneOf(MODES),
        metadata={"description": "default: None with the None policy, SignAndEncrypt with the others"},
    )
    server_certificate_sha256 = ma.fields.String(
        metadata={"description": "pin: the server certificate's SHA-256 (hex, colons allowed)"}
    )

    @ma.validates("server_certificate_sha256")
    def _pin(self, value: str, **_kwargs: Any) -> None:
        if not _SHA256.match(fingerprint(value)):
            raise ma.ValidationError("a SHA-256 fingerprint: 64 hex digits, colons allowed")

    @ma.post_load
    def _mode(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        policy = data["security_policy"]
        mode = data.setdefault("security_mode", "None" if policy == "None" else "SignAndEncrypt")
        if (policy == "None") != (mode == "None"):
            raise ma.ValidationError(
                "the None policy goes with the None mode, the others with Sign or SignAndEncrypt", "security_mode"
            )
        if "server_certificate_sha256" in data:
            data["server_certificate_sha256"] = fingerprint(data["server_certificate_sha256"])
        return data


class Credentials(ma.Schema):
    username = ma.fields.String(validate=ma.validate.Length(min=1, max=256))
    password = ma.fields.String(validate=ma.validate.Length(max=1000))
    client_certificate = ma.fields.String(
        validate=ma.validate.Length(min=1, max=20_000),
        metadata={"description": "PEM; default: one the appliance makes and keeps"},
    )
    client_private_key = ma.fields.String(
        validate=ma.validate.Length(min=1, max=20_000), metadata={"description": "PEM, unencrypted"}
    )
    new_client_certificate = ma.fields.Boolean(
        metadata={"description": "on a rotation: make a new key pair instead of keeping the stored one"}
    )

    @ma.validates_schema
    def _pair(self, data: dict[str, Any], **_kwargs: Any) -> None:
        cert, key = data.get("client_certificate"), data.get("client_private_key")
        if (cert is None) != (key is None):
            raise ma.ValidationError("give the certificate and its private key together", "client_certificate")
        if cert is None or key is None:
            return
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        try:
            certificate = x509.load_pem_x509_certificate(cert.encode())
        except ValueError as exc:
            raise ma.ValidationError("not a PEM certificate", "client_certificate") from exc
        try:
            private = serialization.load_pem_private_key(key.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise ma.ValidationError("not an unencrypted PEM private key", "client_private_key") from exc
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ma.ValidationError("OPC UA security policies need an RSA key", "client_private_key")
        if private.public_key().public_numbers() != certificate.public_key().public_numbers():  # type: ignore[union-attr]
            raise ma.ValidationError("the private key is not the certificate's", "client_private_key")
        if application_uri(cert) is None:
            raise ma.ValidationError(
                "an OPC UA certificate names its application URI (subjectAltName URI)", "client_certificate"
            )


def make_client_certificate(common_name: str = "Sealforge connector") -> tuple[str, str]:
    """A new self-signed application instance certificate and its key, both PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from appliance.services.tls import self_signed

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sealforge"),
        ]
    )
    uri = f"urn:sealforge:connector:{uuid.uuid4().hex}"
    host = socket.gethostname()  # servers may check the client's host name against the DNS names
    cert = self_signed(
        key,
        name,
        [x509.UniformResourceIdentifier(uri), x509.DNSName(host)],
        usage=("digital_signature", "content_commitment", "key_encipherment", "data_encipherment"),
        purpose=ExtendedKeyUsageOID.CLIENT_AUTH,
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def complete_credentials(
    settings: Mapping[str, Any], given: dict[str, Any], stored: Mapping[str, Any]
) -> dict[str, Any]:
    """The credentials to store: the given ones, with the client key pair kept from the stored
    ones (a rotation of the password keeps what the server trusts), or made when a secured
    policy needs one and there is none, or when `new_client_certificate` asks."""
    out = dict(given)
    fresh = bool(out.pop("new_client_certificate", False))
    if "client_certificate" in out:
        return out
    if not fresh and "client_certificate" in stored:
        out["client_certificate"] = stored["client_certificate"]
        out["client_private_key"] = stored["client_private_key"]
    elif fresh or settings.get("security_policy", "None") != "None":
        out["client_certificate"], out["client_private_key"] = make_client_certificate()
    return out


def application_uri(cert_pem: str) -> str | None:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    uris = names.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


def certificate_view(cert_pem: str) -> dict[str, Any]:
    """What an operator needs to trust the client certificate on a server: the OPC UA thumbprint
    (SHA-1 of the DER, the name in the server's lists), the SHA-256, the URI and the PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    return {
        "thumbprint": hashlib.sha1(der).hexdigest().upper(),  # an identifier, not a security check
        "sha256": colons(hashlib.sha256(der).hexdigest()),
        "application_uri": application_uri(cert_pem),
        "not_after": cert.not_valid_after_utc.isoformat().replace("+00:00", "Z"),
        "pem": cert_pem,
    }


async def secure(client: Any, settings: Mapping[str, Any], credentials: Mapping[str, Any]) -> dict[str, Any]:
    """Set `client` up for the configured policy and mode against the server's matching endpoint;
    what was agreed (policy, mode, both certificates) for the test's answer. Nothing for None."""
    from asyncua import ua
    from asyncua.crypto import security_policies, uacrypto

    policy = settings.get("security_policy", "None")
    mode_name = settings.get("security_mode") or ("None" if policy == "None" else "SignAndEncrypt")
    if policy == "None":
        return {"security_policy": "None", "security_mode": "None"}
    if mode_name not in ("Sign", "SignAndEncrypt"):
        raise ConnectorError("invalid", f"the {policy} policy needs the Sign or SignAndEncrypt mode")
    cert_pem, key_pem = credentials.get("client_certificate"), credentials.get("client_private_key")
    if not cert_pem or not key_pem:
        raise ConnectorError(
            "invalid", "a secured session needs the connector's client certificate: rotate the credentials to make one"
        )
    policy_class = {
        "Basic256Sha256": security_policies.SecurityPolicyBasic256Sha256,
        "Aes128_Sha256_RsaOaep": security_policies.SecurityPolicyAes128Sha256RsaOaep,
        "Aes256_Sha256_RsaPss": security_policies.SecurityPolicyAes256Sha256RsaPss,
    }[policy]
    mode = {"Sign": ua.MessageSecurityMode.Sign, "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt}[mode_name]
    endpoints = await client.connect_and_get_server_endpoints()
    found = [e for e in endpoints if e.SecurityMode == mode and e.SecurityPolicyUri == policy_class.URI]
    if not found:
        offered = sorted({f"{e.SecurityPolicyUri.rsplit('#', 1)[-1]} {e.SecurityMode.name}" for e in endpoints})
        raise ConnectorError(
            "tls", f"the server offers no {policy} {mode_name} endpoint; it offers: {', '.join(offered) or 'none'}"
        )
    server_der = uacrypto.der_from_x509(uacrypto.x509_from_der(found[0].ServerCertificate))
    digest = hashlib.sha256(server_der).hexdigest()
    pin = settings.get("server_certificate_sha256")
    if pin and fingerprint(pin) != digest:
        raise ConnectorError(
            "tls", f"the server's certificate (SHA-256 {colons(digest)}) is not the pinned one; nothing was sent"
        )
    client.application_uri = application_uri(cert_pem) or client.application_uri
    await client.set_security(
        policy_class,
        uacrypto.CertProperties(cert_pem.encode(), "pem"),
        uacrypto.CertProperties(key_pem.encode(), "pem"),
        server_certificate=server_der,
        mode=mode,
    )
    return {
        "security_policy": policy,
        "security_mode": mode_name,
        "server_certificate_sha256": colons(digest),
        "client_certificate": certificate_view(cert_pem),
    }
