"""An SMB (Windows, Samba) share through smbprotocol's smbclient: SMB 2/3, NTLM, signing, and
encryption when asked.

Each operation opens its own session in a private connection cache to the address the network
policy checked, and drops it when done (a canceled import closes the file and the session). Paths
stay under the connector's `folder` on the share. A delivery writes a hidden temp file and renames
it to the final name (with `overwrite`, the old file is removed just before), so a reader on the
share never sees half a file.
"""

from __future__ import annotations

import contextlib
import ntpath
import posixpath
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

# NTSTATUS values (MS-ERREF) and what they mean to a plant engineer.
_STATUS = {
    0xC0000022: "permission",  # STATUS_ACCESS_DENIED
    0xC0000034: "not_found",  # STATUS_OBJECT_NAME_NOT_FOUND
    0xC000003A: "not_found",  # STATUS_OBJECT_PATH_NOT_FOUND
    0xC00000CC: "not_found",  # STATUS_BAD_NETWORK_NAME (no such share)
    0xC0000225: "not_found",  # STATUS_NOT_FOUND (no such share, on Samba)
    0xC000006D: "auth",  # STATUS_LOGON_FAILURE
    0xC0000035: "invalid",  # STATUS_OBJECT_NAME_COLLISION
}


class Settings(ma.Schema):
    host = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=253))
    port = ma.fields.Integer(load_default=445, validate=ma.validate.Range(1, 65535))
    share = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80))
    folder = ma.fields.String(load_default="", validate=ma.validate.Length(max=1024))
    user = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))
    domain = ma.fields.String(load_default="", validate=ma.validate.Length(max=256))
    encrypt = ma.fields.Boolean(load_default=True)


class Credentials(ma.Schema):
    password = ma.fields.String(required=True, validate=ma.validate.Length(max=1000))


def _diagnose(exc: BaseException, what: str) -> ConnectorError:
    from smbprotocol.exceptions import SMBAuthenticationError

    if isinstance(exc, ConnectorError):
        return exc
    status = getattr(exc, "ntstatus", None) or getattr(exc, "status", None)
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    found = classify(exc) or (classify(exc.__cause__) if exc.__cause__ else None)
    if found:
        return ConnectorError(found, f"{what}: {text}")
    if isinstance(exc, SMBAuthenticationError) or status == 0xC000006D:
        return ConnectorError("auth", f"{what}: the server refused the login")
    if isinstance(status, int) and status in _STATUS:
        return ConnectorError(_STATUS[status], f"{what}: {text}")
    if isinstance(exc, ValueError) and "failed to connect" in text.lower():
        return ConnectorError("refused" if "refused" in text.lower() else "unreachable", f"{what}: {text}")
    return ConnectorError("protocol", f"{what}: {text}")


class _Session:
    def __init__(self, cache: dict[str, Any], unc: str, port: int) -> None:
        self.cache, self.unc, self.port = cache, unc, port

    def kw(self) -> dict[str, Any]:
        return {"port": self.port, "connection_cache": self.cache}

    def close(self) -> None:
        import smbclient

        with contextlib.suppress(Exception):
            smbclient.reset_connection_cache(connection_cache=self.cache)


class SmbConnector:
    def __init__(self, settings: Mapping[str, Any], credentials: Mapping[str, Any], env: Environment) -> None:
        self.settings, self.credentials, self.env = settings, credentials, env
        self.base = posixpath.normpath(settings.get("folder", "").strip("/\\").replace("\\", "/") or ".")

    def _relative(self, relative: str) -> str:
        """``relative`` under the connector's folder (a share path with forward slashes)."""
        joined = posixpath.normpath(posixpath.join(self.base, relative.replace("\\", "/").lstrip("/")))
        if joined == ".." or joined.startswith("../") or joined.startswith("/"):
            raise ConnectorError("not_allowed", f"{relative!r} leads outside the share")
        if self.base != "." and joined != self.base and not joined.startswith(self.base + "/"):
            raise ConnectorError("not_allowed", f"{relative!r} leads outside the connector's folder")
        return "" if joined == "." else joined

    def _open(self) -> _Session:
        import smbclient

        s = self.settings
        address = self.env.address(s["host"], s["port"])
        cache: dict[str, Any] = {}
        user = f"{s['domain']}\\{s['user']}" if s.get("domain") else s["user"]
        try:
            smbclient.register_session(
                address,
                username=user,
                password=self.credentials.get("password", ""),
                port=s["port"],
                encrypt=bool(s.get("encrypt", True)),
                connection_timeout=max(1, int(self.env.timeout_s)),
                connection_cache=cache,
                auth_protocol="ntlm",
            )
        except Exception as exc:
            with contextlib.suppress(Exception):
                smbclient.reset_connection_cache(connection_cache=cache)
            raise _diagnose(exc, f"cannot log in to {s['host']}") from exc
        return _Session(cache, f"\\\\{address}\\{s['share']}", s["port"])

    def _unc(self, session: _Session, relative: str) -> str:
        return ntpath.join(session.unc, *[p for p in relative.split("/") if p]) if relative else session.unc

    def test(self) -> dict[str, Any]:
        import smbclient

        session = self._open()
        try:
            folder = self._unc(session, self._relative(""))
            smbclient.listdir(folder, **session.kw())
            return {"share": self.settings["share"], "folder": self.settings.get("folder", "")}
        except Exception as exc:
            raise _diagnose(exc, f"cannot open {self.settings['share']}") from exc
        finally:
            session.close()

    def browse(self, path: str, cursor: str | None, limit: int) -> Listing:
        import smbclient

        relative = self._relative(path)
        session = self._open()
        try:
            items = sorted(
                (e.name, e.is_dir(), e.smb_info.end_of_file, e.smb_info.last_write_time.isoformat())
                for e in smbclient.scandir(self._unc(session, relative), **session.kw())
            )
        except Exception as exc:
            raise _diagnose(exc, f"cannot list {path or '/'}") from exc
        finally:
            session.close()
        items = [i for i in items if not i[0].startswith(".") and (not cursor or i[0] > cursor)]
        prefix = path.strip("/")
        entries = []
        for name, is_dir, size, modified in items[:limit]:
            rel = posixpath.join(prefix, name) if prefix else name
            if is_dir:
                entries.append(Entry(name, rel, "folder", children=True, detail={"modified": modified}))
            else:
                detail = {"modified": modified, "format": format_of(name)}
                entries.append(Entry(name, rel, "file", size=size, detail=detail))
        return Listing(entries, entries[-1].name if len(items) > limit and entries else None)

    def read(self, source: Mapping[str, Any]) -> ReadStream:
        import smbclient

        relative = self._relative(source["path"])
        fmt = source.get("format") or format_of(posixpath.basename(relative))
        if fmt is None:
            raise ConnectorError("invalid", f"cannot tell the format of {source['path']!r}; pass source.format")
        session = self._open()
        try:
            unc = self._unc(session, relative)
            size = smbclient.stat(unc, **session.kw()).st_size
            handle = smbclient.open_file(unc, mode="rb", share_access="r", **session.kw())
        except Exception as exc:
            session.close()
            raise _diagnose(exc, f"cannot read {source['path']}") from exc
        description = {"path": source["path"], "size": size}

        def diagnose(exc: Exception) -> ConnectorError:
            return _diagnose(exc, f"cannot read {source['path']}")

        return handle_stream(fmt, handle, size, description, session.close, diagnose, CHUNK_BYTES)

    def write(self, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]:
        import smbclient

        folder = self._relative(target.get("folder", ""))
        base = posixpath.basename(name)
        session = self._open()
        final = self._unc(session, posixpath.join(folder, base) if folder else base)
        temp = self._unc(session, posixpath.join(folder, f".{base}.sealforge-part") if folder else f".{base}.part")
        try:
            try:
                smbclient.stat(final, **session.kw())
                exists = True
            except Exception as exc:
                if _diagnose(exc, "").diagnosis != "not_found":
                    raise
                exists = False
            if exists and not target.get("overwrite"):
                raise ConnectorError("invalid", f"{name} exists; set target.overwrite to replace it")
            with path.open("rb") as src, smbclient.open_file(temp, mode="wb", **session.kw()) as out:
                while data := src.read(CHUNK_BYTES):
                    out.write(data)
            if exists:
                smbclient.remove(final, **session.kw())
            smbclient.rename(temp, final, **session.kw())
            written = smbclient.stat(final, **session.kw()).st_size
        except Exception as exc:
            with contextlib.suppress(Exception):
                smbclient.remove(temp, **session.kw())
            raise _diagnose(exc, f"cannot write {name}") from exc
        finally:
            session.close()
        return {"path": posixpath.join(folder, base) if folder else base, "bytes": written}


TYPE = ConnectorType(
    name="smb",
    summary="An SMB (Windows or Samba) share: read files, write artifacts",
    settings=Settings,
    credentials=Credentials,
    source=Source,
    target=Target,
    open=lambda settings, credentials, env: SmbConnector(settings, credentials, env),
    hosts=lambda settings: [(settings["host"], settings["port"])],
)
