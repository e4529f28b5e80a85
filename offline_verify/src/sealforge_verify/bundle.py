"""The evidence bundle: a plain ``.tar`` with fixed member names. Write it, and read it back.

Why a tar with fixed names: any auditor can list and unpack it with standard tools, and the
verifier can find every part without guessing. Members:

- ``envelope.json``: the DSSE envelope (canonical JSON). Its exact bytes are the seal-log leaf.
- ``inclusion.json``: inclusion proof of that leaf (see :mod:`sealforge_verify.proofs`).
- ``checkpoint.txt``: the signed checkpoint (C2SP signed note) the proof leads to.
- ``key_id.txt``: ``name+hex(keyid)`` of the key that signed the envelope.
- ``consistency.json`` (optional): consistency proof from an older tree size to the checkpoint.
- ``artifacts/<subject name>`` (optional): the artifacts themselves.

Writing is deterministic (sorted names, mtime 0, uid/gid 0, no owner names), so the same inputs
give a byte-identical tar. Reading never loads artifacts: they are streamed from the tar on demand.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Callable, Iterable, Mapping
from typing import BinaryIO

from sealforge_verify.files import atomic_open
from sealforge_verify.proofs import ConsistencyProof, InclusionProof
from sealforge_verify.statement import check_subject_name

__all__ = [
    "ARTIFACT_PREFIX",
    "CHECKPOINT",
    "CONSISTENCY",
    "ENVELOPE",
    "INCLUSION",
    "KEY_ID",
    "Bundle",
    "BundleFormatError",
    "read_bundle",
    "write_bundle",
    "write_members",
]

ENVELOPE = "envelope.json"
INCLUSION = "inclusion.json"
CHECKPOINT = "checkpoint.txt"
KEY_ID = "key_id.txt"
CONSISTENCY = "consistency.json"
ARTIFACT_PREFIX = "artifacts/"
REQUIRED = (ENVELOPE, INCLUSION, CHECKPOINT, KEY_ID)
SIZE_LIMITS = {
    ENVELOPE: 64 * 1024 * 1024,
    INCLUSION: 1024 * 1024,
    CHECKPOINT: 1024 * 1024,
    KEY_ID: 4096,
    CONSISTENCY: 1024 * 1024,
}

Source = bytes | str | os.PathLike[str]


class BundleFormatError(Exception):
    """The file is not a usable bundle: not a tar, truncated, or missing a required member."""


def write_members(dest: str | os.PathLike[str] | BinaryIO, members: Mapping[str, Source]) -> None:
    """Write a deterministic tar of ``members`` (name → bytes, or path of a file to stream in).

    A path destination is written to a temporary file, fsynced and renamed, so a crash never
    leaves a half bundle under the real name.
    """
    for name in members:
        why = check_subject_name(name)
        if why:
            raise ValueError(f"bad member name {name!r}: {why}")
    if isinstance(dest, str | os.PathLike):
        with atomic_open(dest) as fh:
            _write_tar(fh, members)
    else:
        _write_tar(dest, members)


def _write_tar(fh: BinaryIO, members: Mapping[str, Source]) -> None:
    with tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name in sorted(members):
            src = members[name]
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if isinstance(src, bytes):
                info.size = len(src)
                tf.addfile(info, io.BytesIO(src))
            else:
                with open(src, "rb") as data:
                    info.size = os.fstat(data.fileno()).st_size
                    tf.addfile(info, data)


def write_bundle(
    dest: str | os.PathLike[str] | BinaryIO,
    *,
    envelope: bytes,
    inclusion: InclusionProof,
    checkpoint: bytes | str,
    key_id: str,
    artifacts: Mapping[str, Source] | None = None,
    consistency: ConsistencyProof | None = None,
) -> None:
    """Write an evidence bundle. ``artifacts`` maps subject names to bytes or file paths."""
    members: dict[str, Source] = {
        ENVELOPE: envelope,
        INCLUSION: inclusion.to_json_bytes(),
        CHECKPOINT: checkpoint.encode("utf-8") if isinstance(checkpoint, str) else checkpoint,
        KEY_ID: key_id.encode("utf-8") + b"\n",
    }
    if consistency is not None:
        members[CONSISTENCY] = consistency.to_json_bytes()
    for name, src in (artifacts or {}).items():
        why = check_subject_name(name)
        if why:
            raise ValueError(f"bad artifact name {name!r}: {why}")
        members[ARTIFACT_PREFIX + name] = src
    write_members(dest, members)


class Bundle:
    """A read bundle: small members in memory, artifacts opened on demand.

    ``problems`` lists oddities that do not stop verification but make the ``bundle_format``
    check fail (unexpected or duplicate members, links). Use it as a context manager.
    """

    def __init__(
        self,
        members: Mapping[str, bytes],
        artifacts: Mapping[str, int],
        problems: Iterable[str],
        opener: Callable[[str], BinaryIO],
        closer: Callable[[], None] | None = None,
        locator: Callable[[str], tuple[int, int, int] | None] | None = None,
    ) -> None:
        self.members = dict(members)
        self.artifacts = dict(artifacts)
        self.problems = list(problems)
        self._opener = opener
        self._closer = closer
        self._locator = locator

    @property
    def envelope(self) -> bytes:
        return self.members[ENVELOPE]

    @property
    def inclusion(self) -> bytes:
        return self.members[INCLUSION]

    @property
    def checkpoint(self) -> bytes:
        return self.members[CHECKPOINT]

    @property
    def key_id(self) -> bytes:
        return self.members[KEY_ID]

    @property
    def consistency(self) -> bytes | None:
        return self.members.get(CONSISTENCY)

    def open_artifact(self, name: str) -> BinaryIO:
        """A binary stream over the artifact ``artifacts/<name>``."""
        if name not in self.artifacts:
            raise KeyError(name)
        return self._opener(name)

    def artifact_location(self, name: str) -> tuple[int, int, int] | None:
        """``(fileno, offset, size)`` of the artifact's bytes in the tar file, when it is a real file.

        Lets large artifacts be hashed through a memory map on all cores instead of a stream.
        """
        if name not in self.artifacts or self._locator is None:
            return None
        return self._locator(name)

    def close(self) -> None:
        if self._closer is not None:
            self._closer()
            self._closer = None

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def from_members(cls, members: Mapping[str, bytes]) -> Bundle:
        """A bundle held in memory (name → bytes), checked like one read from a tar."""
        entries = [(name, len(data), True) for name, data in members.items()]
        small, artifacts, problems = _classify(entries)
        return cls(
            {n: members[n] for n in small},
            artifacts,
            problems,
            lambda name: io.BytesIO(members[ARTIFACT_PREFIX + name]),
        )


def _classify(entries: Iterable[tuple[str, int, bool]]) -> tuple[list[str], dict[str, int], list[str]]:
    """Sort (name, size, is_regular_file) entries into metadata members, artifacts and problems."""
    small: list[str] = []
    artifacts: dict[str, int] = {}
    problems: list[str] = []
    seen: set[str] = set()
    for name, size, regular in entries:
        if name in seen:
            problems.append(f"duplicate member {name!r}")
            continue
        seen.add(name)
        if not regular:
            problems.append(f"member {name!r} is not a regular file")
        elif name in SIZE_LIMITS:
            if size > SIZE_LIMITS[name]:
                raise BundleFormatError(f"{name} is {size} bytes, over the {SIZE_LIMITS[name]} byte limit")
            small.append(name)
        elif name.startswith(ARTIFACT_PREFIX):
            sub = name[len(ARTIFACT_PREFIX) :]
            why = check_subject_name(sub)
            if why:
                problems.append(f"artifact member {name!r}: {why}")
            else:
                artifacts[sub] = size
        else:
            problems.append(f"unexpected member {name!r}")
    missing = [n for n in REQUIRED if n not in small]
    if missing:
        raise BundleFormatError(f"bundle lacks {', '.join(missing)}")
    return small, artifacts, problems


def read_bundle(source: str | os.PathLike[str] | BinaryIO) -> Bundle:
    """Open a bundle tar (path or seekable binary file) and read its small members.

    Raises :class:`BundleFormatError` when the file cannot be opened, is not a tar, is truncated,
    has a corrupt header, or lacks a required member.
    """
    if isinstance(source, str | os.PathLike):
        try:
            fh: BinaryIO = open(source, "rb")  # noqa: SIM115 - kept open for streaming artifacts
        except OSError as exc:
            raise BundleFormatError(f"cannot open bundle: {exc.strerror or exc}") from None
        owned = True
    else:
        fh, owned = source, False
    try:
        return _read_tar(fh, owned)
    except BaseException:
        if owned:
            fh.close()
        raise


def _read_tar(fh: BinaryIO, owned: bool) -> Bundle:
    try:
        total = fh.seek(0, os.SEEK_END)
        fh.seek(0)
        tf = tarfile.open(fileobj=fh, mode="r:")  # noqa: SIM115 - lives as long as the Bundle
        infos = tf.getmembers()
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise BundleFormatError(f"not a readable tar archive (truncated or corrupt?): {exc}") from None
    fh.seek(tf.offset)
    if fh.read(2 * tarfile.BLOCKSIZE) != bytes(2 * tarfile.BLOCKSIZE):
        raise BundleFormatError(
            f"tar archive is truncated or has a corrupt header at byte {tf.offset} (no end-of-archive marker)"
        )
    by_name: dict[str, tarfile.TarInfo] = {}
    entries = []
    for info in infos:
        name = info.name.removeprefix("./")
        if info.isdir() and (name.rstrip("/") + "/").startswith(ARTIFACT_PREFIX):
            continue
        regular = info.isreg() and not info.issparse()
        if regular and info.offset_data + info.size > total:
            raise BundleFormatError(f"tar archive is truncated inside member {name!r}")
        entries.append((name, info.size, regular))
        by_name.setdefault(name, info)
    small, artifacts, problems = _classify(entries)
    members = {}
    for name in small:
        extracted = tf.extractfile(by_name[name])
        if extracted is None:
            raise BundleFormatError(f"cannot read member {name!r}")
        members[name] = extracted.read()

    def opener(name: str) -> BinaryIO:
        stream = tf.extractfile(by_name[ARTIFACT_PREFIX + name])
        if stream is None:
            raise BundleFormatError(f"cannot read artifact {name!r}")
        return stream  # type: ignore[return-value]

    try:
        fileno: int | None = fh.fileno()
    except (OSError, AttributeError, ValueError):
        fileno = None

    def locator(name: str) -> tuple[int, int, int] | None:
        info = by_name[ARTIFACT_PREFIX + name]
        return None if fileno is None else (fileno, info.offset_data, info.size)

    return Bundle(members, artifacts, problems, opener, fh.close if owned else None, locator)
