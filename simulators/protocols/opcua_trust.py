"""The trust list for OPC UA client certificates: `trusted`, `issuers` and `rejected` folders.

A secure channel proves only that the client holds the key of *some* certificate; without a trust
list any self-made certificate gets in. OPC UA servers keep a directory store (Part 12), and this
is the same layout UA-.NETStandard and open62541 use, so an operator who knows one knows this:

    <pki>/trusted/certs/   client certificates and CA certificates that are trusted
    <pki>/trusted/crl/     revocation lists of the trusted CAs
    <pki>/issuers/certs/   CA certificates needed to build a chain, not trusted by themselves
    <pki>/issuers/crl/
    <pki>/rejected/certs/  certificates that were presented and refused, waiting for an operator

A certificate is trusted when it is in `trusted/certs` itself, or chains (through `issuers/certs`)
to a CA in `trusted/certs`, and no CRL revokes it. An unknown certificate is copied to
`rejected/certs` (the newest `max_rejected` are kept, so a client that invents certificates cannot
fill the disk) and the connection is refused with BadCertificateUntrusted. `trust()` moves it to
`trusted/certs`. The folders are re-read whenever one of them changes, so a running server honours
a trust change from the next connection on; nothing needs a restart.

Files are named `<common name> [<thumbprint>].der`, where the thumbprint is the OPC UA one: SHA-1 of
the DER bytes, upper-case hex. asyncua's `TrustStore` does the chain and CRL checks and its
`CertificateValidator` the usual ones (validity period, application URI, key usages).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncua import ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from simulators.fsutil import write_atomic

log = logging.getLogger(__name__)

STATUSES = ("trusted", "rejected", "issuer")
_FOLDERS = {"trusted": "trusted/certs", "rejected": "rejected/certs", "issuer": "issuers/certs"}
_CRL_FOLDERS = ("trusted/crl", "issuers/crl")
MAX_REJECTED = 100


@dataclass(frozen=True)
class CertificateInfo:
    """One certificate of the trust list, as an operator needs it to decide."""

    thumbprint: str  # SHA-1 of the DER bytes, upper-case hex (the OPC UA thumbprint)
    sha256: str  # colon-separated, as HMIs show it
    status: str  # trusted | rejected | issuer
    subject: str
    application_uri: str | None
    not_before: str
    not_after: str
    path: Path

    def as_dict(self) -> dict[str, Any]:
        return {"thumbprint": self.thumbprint, "sha256": self.sha256, "status": self.status,
                "subject": self.subject, "application_uri": self.application_uri,
                "not_before": self.not_before, "not_after": self.not_after}


class _FolderStore(TrustStore):
    """asyncua's TrustStore, with the `issuers` certificates offered as intermediates of a chain."""

    def __init__(self, pki: Path) -> None:
        super().__init__([pki / _FOLDERS["trusted"]], [pki / f for f in _CRL_FOLDERS])
        self.issuers_dir = pki / _FOLDERS["issuer"]
        self.intermediates: list[x509.Certificate] = []

    async def load(self) -> None:
        await super().load()
        self.intermediates = [c for _, c in _read_folder(self.issuers_dir)]

    async def load_trust(self) -> None:
        certs: list[x509.Certificate] = []
        for location in self.trust_locations:
            if location.is_dir():
                certs.extend(await self._load_trust_location(location))
        self._trust_store = x509.verification.Store(certs) if certs else None  # an empty Store is an error

    def is_trusted(self, certificate: x509.Certificate) -> bool:
        store = self._trust_store
        if store is None:
            return False
        verifier = self.policy_builder.store(store).build_client_verifier()
        try:
            verifier.verify(certificate, self.intermediates)
        except x509.verification.VerificationError:
            return False
        return True


class TrustList:
    """The folders under `pki_dir`, the checks a server runs on each connection, and the operator's
    moves between the lists."""

    def __init__(self, pki_dir: str | os.PathLike[str], max_rejected: int = MAX_REJECTED) -> None:
        self.pki_dir = Path(pki_dir)
        self.max_rejected = max_rejected
        self._store = _FolderStore(self.pki_dir)
        self._validator = CertificateValidator(
            CertificateValidatorOptions.TRUSTED_VALIDATION | CertificateValidatorOptions.PEER_CLIENT, self._store)
        self._seen: tuple[tuple[str, int], ...] | None = None

    def ensure(self) -> None:
        for folder in (*_FOLDERS.values(), *_CRL_FOLDERS):
            (self.pki_dir / folder).mkdir(parents=True, exist_ok=True, mode=0o700)

    # -- what a server asks ------------------------------------------------------------------------
    async def refresh(self) -> None:
        """Re-read the folders if any file in them changed since the last look (one listing each)."""
        stamp = self._stamp()
        if stamp != self._seen:
            await self._store.load()
            self._seen = stamp

    def is_trusted(self, certificate: x509.Certificate | bytes) -> bool:
        """Trusted and not revoked, as of the last `refresh()`."""
        cert = x509.load_der_x509_certificate(certificate) if isinstance(certificate, bytes) else certificate
        return self._store.is_trusted(cert) and not self._store.is_revoked(cert)

    async def __call__(self, cert: x509.Certificate, app: ua.ApplicationDescription) -> None:
        """asyncua's certificate validator hook (CreateSession): unknown certificates are kept in
        `rejected` and refused; trusted ones still get the usual checks."""
        await self.refresh()
        if not self._store.is_trusted(cert):
            self.note_rejected(cert)
            log.warning("OPC UA client certificate %s (%s) is not trusted; kept in %s", _thumbprint(cert),
                        cert.subject.rfc4514_string(), self.pki_dir / _FOLDERS["rejected"])
            raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)
        await self._validator.validate(cert, app)

    def note_rejected(self, cert: x509.Certificate) -> None:
        thumb = _thumbprint(cert)
        if self.find(thumb) is not None:
            return
        folder = self.pki_dir / _FOLDERS["rejected"]
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(folder / _file_name(cert, thumb), cert.public_bytes(serialization.Encoding.DER))
        kept = sorted(folder.glob("*.der"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in kept[self.max_rejected:]:
            old.unlink(missing_ok=True)

    # -- what an operator does ---------------------------------------------------------------------
    def list(self) -> list[CertificateInfo]:
        """Every certificate in the three lists, by thumbprint."""
        found = [_info(cert, status, path) for status, folder in _FOLDERS.items()
                 for path, cert in _read_folder(self.pki_dir / folder)]
        return sorted(found, key=lambda c: c.thumbprint)

    def find(self, thumbprint: str) -> CertificateInfo | None:
        wanted = thumbprint.strip().replace(":", "").upper()
        return next((c for c in self.list() if c.thumbprint == wanted), None)

    def trust(self, thumbprint: str) -> CertificateInfo:
        """Move a certificate to `trusted` (from `rejected` or `issuers`). KeyError if unknown."""
        return self._move(thumbprint, "trusted")

    def reject(self, thumbprint: str) -> CertificateInfo:
        """Move a certificate to `rejected`: it is refused from the next connection on."""
        return self._move(thumbprint, "rejected")

    def remove(self, thumbprint: str) -> CertificateInfo:
        """Delete a certificate from whichever list holds it (it lands in `rejected` again if used)."""
        info = self.find(thumbprint)
        if info is None:
            raise KeyError(thumbprint)
        info.path.unlink(missing_ok=True)
        return info

    def _move(self, thumbprint: str, status: str) -> CertificateInfo:
        info = self.find(thumbprint)
        if info is None:
            raise KeyError(thumbprint)
        if info.status == status:
            return info
        target = self.pki_dir / _FOLDERS[status] / info.path.name
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(info.path, target)
        return CertificateInfo(**{**info.__dict__, "status": status, "path": target})

    def _stamp(self) -> tuple[tuple[str, int], ...]:
        """Name and mtime of every file in the folders a check reads (a file replaced in place counts)."""
        stamp: list[tuple[str, int]] = []
        for folder in (_FOLDERS["trusted"], _FOLDERS["issuer"], *_CRL_FOLDERS):
            try:
                with os.scandir(self.pki_dir / folder) as entries:
                    stamp.extend(sorted((f"{folder}/{e.name}", e.stat().st_mtime_ns) for e in entries))
            except FileNotFoundError:
                stamp.append((folder, -1))
        return tuple(stamp)


def _read_folder(folder: Path) -> list[tuple[Path, x509.Certificate]]:
    out = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if path.suffix.lower() not in (".der", ".pem"):
            continue
        data = path.read_bytes()
        try:
            cert = (x509.load_pem_x509_certificate(data) if path.suffix.lower() == ".pem"
                    else x509.load_der_x509_certificate(data))
        except ValueError:
            log.warning("%s is not a certificate; ignored", path)
            continue
        out.append((path, cert))
    return out


def _thumbprint(cert: x509.Certificate) -> str:
    """The OPC UA thumbprint: SHA-1 of the DER bytes (an identifier, not a security check)."""
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()


def _info(cert: x509.Certificate, status: str, path: Path) -> CertificateInfo:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    return CertificateInfo(
        thumbprint=_thumbprint(cert), sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(), status=status,
        subject=cert.subject.rfc4514_string(), application_uri=uris[0] if uris else None,
        not_before=cert.not_valid_before_utc.isoformat().replace("+00:00", "Z"),
        not_after=cert.not_valid_after_utc.isoformat().replace("+00:00", "Z"), path=path)


def _file_name(cert: x509.Certificate, thumbprint: str) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    common = str(names[0].value) if names else "certificate"
    safe = re.sub(r"[^A-Za-z0-9 ._()-]+", "_", common).strip(" .")[:64] or "certificate"
    return f"{safe} [{thumbprint}].der"

