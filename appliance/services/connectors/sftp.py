"""SFTP through paramiko: files in from, and artifacts out to, a folder on an SSH server.

The client connects to the address the network policy checked and speaks SSH on that socket.
The server's host key is pinned when the settings give its SHA-256 fingerprint (what `ssh-keygen
-lf` prints); a test always reports the fingerprint it saw, so an operator can pin it after a
first look. Paths stay under the connector's `folder` on the server: a path climbing out of it is
refused before anything is sent. A delivery uploads to a hidden temp name and renames it into
place, so a reader on the server never sees half a file.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import posixpath
import socket
import stat
from collections.abc import Mapping
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
    handle_stream,
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
    port = ma.fields.Integer(load_default=22, validate=ma.validate.Range(1, 65535))
    user = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))
    folder = ma.fields.String(load_default="", validate=ma.validate.Length(max=1024))
    host_key_sha256 = ma.fields.String(
        validate=ma.validate.Regexp(r"^(SHA256:)?[A-Za-z0-9+/]{43}=?$"),
        metadata={"description": "The server's host key fingerprint as `ssh-keygen -lf` prints it"},
    )


class Credentials(ma.Schema):
    password = ma.fields.String(validate=ma.validate.Length(max=1000))
    private_key = ma.fields.String(validate=ma.validate.Length(max=20_000))
    passphrase = ma.fields.String(validate=ma.validate.Length(max=1000))

    @ma.validates_schema
    def one_of(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data.get("password") and not data.get("private_key"):
            raise ma.ValidationError("give a password or a private_key", "password")


def fingerprint(key: Any) -> str:
    """A host key's fingerprint in OpenSSH's form (``SHA256:`` and unpadded base64)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


def _diagnose(exc: BaseException, what: str) -> ConnectorError:
    import paramiko

    if isinstance(exc, ConnectorError):
        return exc
    found = classify(exc)
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    if found:
        return ConnectorError(found, f"{what}: {text}")
    if isinstance(exc, paramiko.AuthenticationException):
        return ConnectorError("auth", f"{what}: the server refused the login")
    if isinstance(exc, paramiko.SSHException | EOFError):
        return ConnectorError("protocol", f"{what}: {text}")
    return ConnectorError("protocol", f"{what}: {text}")


def _private_key(text: str, passphrase: str | None) -> Any:
    import paramiko

    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text), password=passphrase)
        except paramiko.PasswordRequiredException as exc:
            raise ConnectorError("auth", "the private key needs its passphrase") from exc
        except paramiko.SSHException:
            continue
    raise ConnectorError("invalid", "the private key is not an Ed25519, ECDSA or RSA key paramiko can read")


class _Session:
    """One SSH connection and its SFTP channel."""

    def __init__(self, transport: Any, sftp: Any) -> None:
        self.transport, self.sftp = transport, sftp

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.sftp.close()
        with contextlib.suppress(Exception):
            self.transport.close()


class SftpConnector:
    def __init__(self, settings: Mapping[str, Any], credentials: Mapping[str, Any], env: Environment) -> None:
        self.settings, self.credentials, self.env = settings, credentials, env
        self.base = posixpath.normpath(settings.get("folder") or ".")

    def _path(self, relative: str) -> str:
        """``relative`` under the connector's folder; refused when it climbs out."""
        joined = posixpath.normpath(posixpath.join(self.base, relative.lstrip("/")))
        if self.base != "." and joined != self.base and not joined.startswith(self.base.rstrip("/") + "/"):
            raise ConnectorError("not_allowed", f"{relative!r} leads outside the connector's folder")
        if self.base == "." and (joined == ".." or joined.startswith("../") or joined.startswith("/")):
            raise ConnectorError("not_allowed", f"{relative!r} leads outside the connector's folder")
        return joined

    def _open(self) -> tuple[_Session, str]:
        import paramiko

        s = self.settings
        address = self.env.address(s["host"], s["port"])
        try:
            sock = socket.create_connection((address, s["port"]), timeout=self.env.timeout_s)
        except OSError as exc:
            raise _diagnose(exc, f"cannot reach {s['host']}:{s['port']}") from exc
        transport = paramiko.Transport(sock)
        transport.banner_timeout = transport.auth_timeout = self.env.timeout_s
        try:
            transport.start_client(timeout=self.env.timeout_s)
            seen = fingerprint(transport.get_remote_server_key())
            pinned = s.get("host_key_sha256")
            if pinned and ("SHA256:" + pinned.removeprefix("SHA256:").rstrip("=")) != seen:
                raise ConnectorError("tls", f"the server's host key is {seen}, not the pinned {pinned}")
            key_text = self.credentials.get("private_key")
            if key_text:
                transport.auth_publickey(s["user"], _private_key(key_text, self.credentials.get("passphrase")))
            else:
                transport.auth_password(s["user"], self.credentials.get("password", ""))
            sftp = paramiko.SFTPClient.from_transport(transport)
            if sftp is None:
                raise ConnectorError("protocol", "the server has no SFTP subsystem")
            sftp.get_channel().settimeout(max(self.env.timeout_s, 30.0))
        except Exception as exc:
            transport.close()
            raise _diagnose(exc, f"cannot log in to {s['host']}") from exc
        return _Session(transport, sftp), seen

    def test(self) -> dict[str, Any]:
        session, seen = self._open()
        try:
            attrs = session.sftp.stat(self.base)
            if not stat.S_ISDIR(attrs.st_mode or 0):
                raise ConnectorError("not_found", f"{self.base} is not a folder on the server")
            session.sftp.listdir_attr(self.base)
            return {"folder": session.sftp.normalize(self.base), "host_key_sha256": seen}
        except Exception as exc:
            raise _diagnose(exc, f"cannot open {self.base}") from exc
        finally:
            session.close()

    def browse(self, path: str, cursor: str | None, limit: int) -> Listing:
        folder = self._path(path)
        session, _ = self._open()
        try:
            items = sorted(session.sftp.listdir_attr(folder), key=lambda a: a.filename)
        except Exception as exc:
            raise _diagnose(exc, f"cannot list {path or '/'}") from exc
        finally:
            session.close()
        items = [a for a in items if not a.filename.startswith(".") and (not cursor or a.filename > cursor)]
        entries = []
        for attrs in items[:limit]:
            rel = posixpath.join(path.strip("/"), attrs.filename) if path.strip("/") else attrs.filename
            detail = {"modified": attrs.st_mtime}
            if stat.S_ISDIR(attrs.st_mode or 0):
                entries.append(Entry(attrs.filename, rel, "folder", children=True, detail=detail))
            else:
                detail["format"] = format_of(attrs.filename)
                entries.append(Entry(attrs.filename, rel, "file", size=attrs.st_size, detail=detail))
        return Listing(entries, entries[-1].name if len(items) > limit and entries else None)

    def read(self, source: Mapping[str, Any]) -> ReadStream:
        remote = self._path(source["path"])
        fmt = source.get("format") or format_of(posixpath.basename(remote))
        if fmt is None:
            raise ConnectorError("invalid", f"cannot tell the format of {source['path']!r}; pass source.format")
        session, seen = self._open()
        try:
            size = session.sftp.stat(remote).st_size
            handle = session.sftp.open(remote, "rb")
            handle.prefetch(size)  # pipelined reads: SFTP's throughput needs requests in flight
        except Exception as exc:
            session.close()
            raise _diagnose(exc, f"cannot read {source['path']}") from exc

        description = {"path": source["path"], "size": size, "host_key_sha256": seen}

        def diagnose(exc: Exception) -> ConnectorError:
            return _diagnose(exc, f"cannot read {source['path']}")

        return handle_stream(fmt, handle, size, description, session.close, diagnose, CHUNK_BYTES)

    def write(self, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]:
        folder = self._path(target.get("folder", ""))
        final = posixpath.join(folder, posixpath.basename(name))
        temp = posixpath.join(folder, f".{posixpath.basename(name)}.sealforge-part")
        session, _ = self._open()
        try:
            try:
                session.sftp.stat(final)
                exists = True
            except FileNotFoundError:
                exists = False
            if exists and not target.get("overwrite"):
                raise ConnectorError("invalid", f"{final} exists; set target.overwrite to replace it")
            session.sftp.put(str(path), temp, confirm=True)
            try:
                session.sftp.posix_rename(temp, final)  # atomic replace (OpenSSH's extension)
            except OSError:
                if exists:
                    session.sftp.remove(final)
                session.sftp.rename(temp, final)
            written = session.sftp.stat(final).st_size
        except Exception as exc:
            with contextlib.suppress(Exception):
                session.sftp.remove(temp)
            raise _diagnose(exc, f"cannot write {name}") from exc
        finally:
            session.close()
        return {"path": final, "bytes": written}


TYPE = ConnectorType(
    name="sftp",
    summary="SFTP: read files from and write artifacts to a folder on an SSH server",
    settings=Settings,
    credentials=Credentials,
    source=Source,
    target=Target,
    open=lambda settings, credentials, env: SftpConnector(settings, credentials, env),
    hosts=lambda settings: [(settings["host"], settings["port"])],
)
