"""FTP and FTPS (explicit, ``AUTH TLS``) through the standard library's ftplib.

The control connection goes to the address the network policy checked; with TLS the server's
name is kept for SNI and the certificate check, and the data channel is encrypted too (``PROT
P``). Passive data connections go to the control connection's peer whatever address the server
announces (ftplib's default), so a server cannot steer the appliance to another host. Listings
use MLSD (RFC 3659), which tells folders from files. A delivery uploads to a hidden temp name and
renames it into place, so a reader on the server never sees half a file.
"""

from __future__ import annotations

import contextlib
import ftplib
import posixpath
import ssl
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import marshmallow as ma

from appliance.services.connectors.base import (
    ConnectorError,
    ConnectorType,
    Entry,
    Environment,
    Listing,
    ReadStream,
    classify,
)
from appliance.services.connectors.base import (
    FileSource as Source,
)
from appliance.services.connectors.base import (
    FileTarget as Target,
)
from appliance.services.connectors.tabular import CHUNK_BYTES, format_of


class Settings(ma.Schema):
    host = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=253))
    port = ma.fields.Integer(load_default=21, validate=ma.validate.Range(1, 65535))
    user = ma.fields.String(load_default="anonymous", validate=ma.validate.Length(min=1, max=256))
    folder = ma.fields.String(load_default="", validate=ma.validate.Length(max=1024))
    tls = ma.fields.String(load_default="explicit", validate=ma.validate.OneOf(("none", "explicit")))
    verify_tls = ma.fields.Boolean(load_default=True)
    ca_certificate = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=20_000),
        metadata={
            "description": "PEM of the CA (or the self-signed certificate) the server's certificate is checked against"
        },
    )


class Credentials(ma.Schema):
    password = ma.fields.String(load_default="", validate=ma.validate.Length(max=1000))


def _diagnose(exc: BaseException, what: str) -> ConnectorError:
    if isinstance(exc, ConnectorError):
        return exc
    text = str(exc).strip() or type(exc).__name__
    found = classify(exc)
    if found:
        return ConnectorError(found, f"{what}: {text}")
    if isinstance(exc, ftplib.error_perm):
        code, lowered = text[:3], text.lower()
        if code == "530":
            return ConnectorError("auth", f"{what}: {text}")
        if code == "550" and ("no such" in lowered or "not found" in lowered or "does not exist" in lowered):
            return ConnectorError("not_found", f"{what}: {text}")
        if code in ("550", "553", "532"):
            return ConnectorError("permission", f"{what}: {text}")
        if code in ("500", "502", "504"):
            return ConnectorError("protocol", f"{what}: the server does not support this ({text})")
        return ConnectorError("invalid", f"{what}: {text}")
    return ConnectorError("protocol", f"{what}: {text}")


def _facts(ftp: ftplib.FTP, remote: str) -> dict[str, str] | None:
    """MLST's facts of one path (type, size...), or None when the server knows no such path."""
    try:
        answer = ftp.sendcmd(f"MLST {remote}")
    except ftplib.error_perm as exc:
        if str(exc).startswith("550"):
            return None
        raise
    lines = [line for line in answer.splitlines() if line.startswith(" ")]
    if not lines:
        return None
    facts = lines[0].strip().split(" ", 1)[0]
    return {k.lower(): v for k, _, v in (f.partition("=") for f in facts.split(";") if "=" in f)}


class FtpConnector:
    def __init__(self, settings: Mapping[str, Any], credentials: Mapping[str, Any], env: Environment) -> None:
        self.settings, self.credentials, self.env = settings, credentials, env
        self.base = posixpath.normpath(settings.get("folder") or ".")

    def _path(self, relative: str) -> str:
        """``relative`` under the connector's folder; refused when it climbs out."""
        joined = posixpath.normpath(posixpath.join(self.base, relative.lstrip("/")))
        inside = (
            joined == self.base or joined.startswith(self.base.rstrip("/") + "/")
            if self.base != "."
            else not (joined == ".." or joined.startswith(("../", "/")))
        )
        if not inside:
            raise ConnectorError("not_allowed", f"{relative!r} leads outside the connector's folder")
        return joined

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cadata=self.settings.get("ca_certificate") or None)
        if not self.settings.get("verify_tls", True):
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _open(self) -> ftplib.FTP:
        s = self.settings
        address = self.env.address(s["host"], s["port"])
        tls = s.get("tls", "explicit") == "explicit"
        try:
            ftp: ftplib.FTP = ftplib.FTP_TLS(context=self._context()) if tls else ftplib.FTP()
        except ssl.SSLError as exc:
            raise ConnectorError("invalid", f"the CA certificate cannot be read: {exc}") from exc
        try:
            ftp.connect(address, s["port"], timeout=self.env.timeout_s)
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.host = s["host"]  # the name, for SNI and the certificate check
                ftp.auth()
            ftp.login(s.get("user", "anonymous"), self.credentials.get("password", ""))
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            ftp.voidcmd("TYPE I")
        except Exception as exc:
            ftp.close()
            raise _diagnose(exc, f"cannot log in to {s['host']}") from exc
        return ftp

    @staticmethod
    def _quit(ftp: ftplib.FTP) -> None:
        with contextlib.suppress(Exception):
            ftp.quit()
        ftp.close()

    def test(self) -> dict[str, Any]:
        ftp = self._open()
        try:
            ftp.cwd(self.base)
            folder = ftp.pwd()
            next(iter(ftp.mlsd(facts=["type"])), None)
            return {"folder": folder, "tls": isinstance(ftp, ftplib.FTP_TLS), "welcome": ftp.getwelcome()[:200]}
        except Exception as exc:
            raise _diagnose(exc, f"cannot open {self.base}") from exc
        finally:
            self._quit(ftp)

    def browse(self, path: str, cursor: str | None, limit: int) -> Listing:
        folder = self._path(path)
        ftp = self._open()
        try:
            items = sorted(ftp.mlsd(folder, facts=["type", "size", "modify"]))
        except Exception as exc:
            raise _diagnose(exc, f"cannot list {path or '/'}") from exc
        finally:
            self._quit(ftp)
        items = [
            (name, facts)
            for name, facts in items
            if facts.get("type") in ("dir", "file") and not name.startswith(".") and (not cursor or name > cursor)
        ]
        entries = []
        prefix = path.strip("/")
        for name, facts in items[:limit]:
            rel = posixpath.join(prefix, name) if prefix else name
            detail: dict[str, Any] = {"modified": facts.get("modify")}
            if facts["type"] == "dir":
                entries.append(Entry(name, rel, "folder", children=True, detail=detail))
            else:
                detail["format"] = format_of(name)
                size = int(facts["size"]) if facts.get("size", "").isdigit() else None
                entries.append(Entry(name, rel, "file", size=size, detail=detail))
        return Listing(entries, entries[-1].name if len(items) > limit and entries else None)

    def read(self, source: Mapping[str, Any]) -> ReadStream:
        remote = self._path(source["path"])
        fmt = source.get("format") or format_of(posixpath.basename(remote))
        if fmt is None:
            raise ConnectorError("invalid", f"cannot tell the format of {source['path']!r}; pass source.format")
        ftp = self._open()
        try:
            facts = _facts(ftp, remote)
            if facts is None or facts.get("type") != "file":
                raise ConnectorError("not_found", f"no file {source['path']!r} on the server")
            size = int(facts["size"]) if facts.get("size", "").isdigit() else None
            conn = ftp.transfercmd(f"RETR {remote}")
        except Exception as exc:
            self._quit(ftp)
            raise _diagnose(exc, f"cannot read {source['path']}") from exc
        closed = False

        def stop() -> None:
            nonlocal closed
            if not closed:
                closed = True
                with contextlib.suppress(Exception):
                    conn.close()
                ftp.close()  # an unfinished transfer cannot be quit politely

        def chunks() -> Iterator[bytes]:
            nonlocal closed
            buffer = bytearray()
            try:
                while not closed and (data := conn.recv(1 << 16)):
                    buffer += data
                    if len(buffer) >= CHUNK_BYTES:
                        yield bytes(buffer)
                        buffer.clear()
                if closed:
                    return
                if isinstance(conn, ssl.SSLSocket):
                    conn.unwrap()
                conn.close()
                ftp.voidresp()
                if buffer:
                    yield bytes(buffer)
                closed = True
                self._quit(ftp)
            except Exception as exc:
                raise _diagnose(exc, f"cannot read {source['path']}") from exc
            finally:
                stop()

        return ReadStream(fmt, chunks(), size, {"path": source["path"], "size": size}, stop)

    def write(self, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]:
        folder = self._path(target.get("folder", ""))
        final = posixpath.join(folder, posixpath.basename(name))
        temp = posixpath.join(folder, f".{posixpath.basename(name)}.sealforge-part")
        ftp = self._open()
        try:
            exists = _facts(ftp, final) is not None
            if exists and not target.get("overwrite"):
                raise ConnectorError("invalid", f"{final} exists; set target.overwrite to replace it")
            with path.open("rb") as fh:
                ftp.storbinary(f"STOR {temp}", fh, blocksize=CHUNK_BYTES)
            if exists:
                ftp.delete(final)
            ftp.rename(temp, final)
            facts = _facts(ftp, final) or {}
            written = int(facts["size"]) if facts.get("size", "").isdigit() else None
        except Exception as exc:
            with contextlib.suppress(Exception):
                ftp.delete(temp)
            raise _diagnose(exc, f"cannot write {name}") from exc
        finally:
            self._quit(ftp)
        return {"path": final, "bytes": written}


TYPE = ConnectorType(
    name="ftp",
    summary="FTP or FTPS (explicit TLS): read files from and write artifacts to a folder on an FTP server",
    settings=Settings,
    credentials=Credentials,
    source=Source,
    target=Target,
    open=lambda settings, credentials, env: FtpConnector(settings, credentials, env),
    hosts=lambda settings: [(settings["host"], settings["port"])],
)
