"""Stream a bundle tar without building it in memory or on disk, byte-identical to the verifier's.

Why: a bundle with a 1 GB artifact must leave the appliance without a 1 GB temp copy and with a
``Content-Length`` up front. The headers come from :mod:`tarfile` itself (``TarInfo.tobuf``) with
the settings :func:`sealforge_verify.write_members` uses (PAX, sorted names, mtime 0, uid/gid 0, no
owner names, mode 0644); only the framing around them (data padded to 512-byte blocks, two zero
blocks, the record padded to 10240 bytes) is written here, and a test pins the output to
``write_members`` byte for byte.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sealforge_verify.statement import check_subject_name

CHUNK = 4 * 1024 * 1024
_BLOCK = tarfile.BLOCKSIZE
_RECORD = tarfile.RECORDSIZE

Source = bytes | Path


@dataclass(frozen=True)
class _Member:
    header: bytes
    source: Source
    size: int


def _header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.size = size
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _padding(size: int) -> int:
    return -size % _BLOCK


class TarStream:
    """A deterministic tar of ``members`` (name → bytes, or a file path read when streamed).

    File sizes are fixed when the stream is planned; if a file changes size before it is read,
    streaming raises ``OSError`` rather than send a tar whose length lies.
    """

    def __init__(self, members: Mapping[str, Source]) -> None:
        planned = []
        for name in sorted(members):
            why = check_subject_name(name)
            if why:
                raise ValueError(f"bad member name {name!r}: {why}")
            source = members[name]
            size = len(source) if isinstance(source, bytes) else os.stat(source).st_size
            planned.append(_Member(_header(name, size), source, size))
        self._members = planned
        body = sum(len(m.header) + m.size + _padding(m.size) for m in planned) + 2 * _BLOCK
        self.size = body + (-body % _RECORD)

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for member in self._members:
            yield member.header
            sent += len(member.header)
            if isinstance(member.source, bytes):
                yield member.source
            else:
                yield from _file_chunks(member.source, member.size)
            sent += member.size
            pad = _padding(member.size)
            if pad:
                yield bytes(pad)
                sent += pad
        yield bytes(self.size - sent)


def _file_chunks(path: Path, size: int) -> Iterator[bytes]:
    left = size
    with open(path, "rb") as fh:
        while left:
            chunk = fh.read(min(CHUNK, left))
            if not chunk:
                raise OSError(f"{path} shrank while it was being sent ({left} bytes missing)")
            left -= len(chunk)
            yield chunk
