"""A local or mounted folder (a USB stick, an NFS or SMB mount the operator made): files in,
files out. The folder must lie under `[connectors] folder_roots`, so a tenant cannot point a
connector at the state dir or /etc; every path inside is resolved and kept inside the folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
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
    file_chunks,
    inside,
)
from appliance.services.connectors.base import (
    FileSource as Source,
)
from appliance.services.connectors.base import (
    FileTarget as Target,
)
from appliance.services.connectors.tabular import format_of

DELIVERED_MODE = 0o644  # what a delivered artifact is made with (rw-r--r--)


class Settings(ma.Schema):
    path = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=1024),
        metadata={"description": "Absolute path of the folder, under one of `[connectors] folder_roots`"},
    )


def _fail(exc: OSError, what: str) -> ConnectorError:
    return ConnectorError(classify(exc) or "protocol", f"{what}: {exc.strerror or exc}")


class FolderConnector:
    def __init__(self, settings: Mapping[str, Any], env: Environment) -> None:
        self.base = env.folder(settings["path"])

    def test(self) -> dict[str, Any]:
        if not self.base.is_dir():
            raise ConnectorError("not_found", f"{self.base} is not a folder")
        readable = os.access(self.base, os.R_OK | os.X_OK)
        writable = os.access(self.base, os.W_OK)
        if not readable:
            raise ConnectorError("permission", f"the appliance may not read {self.base}")
        return {"folder": str(self.base), "readable": readable, "writable": writable}

    def browse(self, path: str, cursor: str | None, limit: int) -> Listing:
        folder = inside(self.base, path)
        try:
            names = sorted(entry.name for entry in os.scandir(folder))
        except OSError as exc:
            raise _fail(exc, f"cannot list {path or '/'}") from exc
        if cursor:
            names = [n for n in names if n > cursor]
        entries = []
        for name in names[:limit]:
            child = folder / name
            rel = str(child.relative_to(self.base))
            if child.is_dir():
                entries.append(Entry(name, rel, "folder", children=True))
            else:
                entries.append(Entry(name, rel, "file", size=child.stat().st_size, detail={"format": format_of(name)}))
        more = len(names) > limit
        return Listing(entries, entries[-1].name if more and entries else None)

    def read(self, source: Mapping[str, Any]) -> ReadStream:
        path = inside(self.base, source["path"])
        try:
            size = path.stat().st_size
            path.open("rb").close()
        except OSError as exc:
            raise _fail(exc, f"cannot read {source['path']}") from exc
        fmt = source.get("format") or format_of(path.name)
        if fmt is None:
            raise ConnectorError("invalid", f"cannot tell the format of {source['path']!r}; pass source.format")
        return ReadStream(fmt, file_chunks(path), size, {"path": source["path"], "size": size})

    def write(self, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]:
        folder = inside(self.base, target.get("folder", ""))
        final = inside(folder, name)
        if final.exists() and not target.get("overwrite"):
            raise ConnectorError(
                "invalid", f"{final.relative_to(self.base)} exists; set target.overwrite to replace it"
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".sealforge-")
            # mkstemp makes 0600: the systems that read the folder (a historian, a USB stick's next
            # owner) run as other users, so the delivered file is readable as a copied one would be.
            with contextlib.suppress(OSError):  # FAT sticks and CIFS mounts set modes themselves
                os.fchmod(fd, DELIVERED_MODE)
            with os.fdopen(fd, "wb") as out, path.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, final)
        except OSError as exc:
            raise _fail(exc, f"cannot write {name}") from exc
        return {"path": str(final.relative_to(self.base)), "bytes": final.stat().st_size}


TYPE = ConnectorType(
    name="folder",
    summary="A local or mounted folder (USB stick, NFS or SMB mount): read files, write artifacts",
    settings=Settings,
    source=Source,
    target=Target,
    open=lambda settings, _credentials, env: FolderConnector(settings, env),
)
