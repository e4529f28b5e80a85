"""The one interface every connector type implements, and what the types share.

A type is a `ConnectorType`: its settings, credentials, source and target schemas, and `open`,
which gives a `Connector` bound to one configured connector. A connector answers four things:
`test` (can the appliance reach the server, log in, and see what it needs), `browse` (one page of
what is there: schemas and tables, buckets and prefixes, folders, topics, address-space nodes),
`read` (a `ReadStream` of bytes in an upload format, so an import goes through the same dataset
validator as an upload) and `write` (one artifact file to a table, object, file or topic).

Failures are `ConnectorError`s carrying a diagnosis a person can act on (dns, refused, timeout,
tls, auth, permission, not_found...), made from the client library's exception by `classify`
and each type's own mapping; the message never carries a credential.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import marshmallow as ma

from appliance.services.webhooks.destinations import DestinationRefused, Policy

DIAGNOSES = {
    "dns": "the host name does not resolve here",
    "refused": "nothing listens at that address and port (connection refused)",
    "unreachable": "no route to the host",
    "timeout": "the server did not answer in time",
    "tls": "the TLS handshake failed (certificate, protocol or mode)",
    "auth": "the server refused the user name or the secret",
    "permission": "logged in, but the account may not read or write this",
    "not_found": "the database, table, bucket, object, folder or file does not exist",
    "not_allowed": "the address is outside the networks connectors may reach ([webhooks] allowed_networks)",
    "invalid": "the source, target or data does not fit what the server holds",
    "protocol": "the server answered something the client did not expect",
}


class ConnectorError(Exception):
    """A failure with its diagnosis (a key of `DIAGNOSES`) and a message without secrets."""

    def __init__(self, diagnosis: str, message: str) -> None:
        super().__init__(message)
        self.diagnosis = diagnosis if diagnosis in DIAGNOSES else "protocol"
        self.message = message


def classify(exc: BaseException) -> str | None:
    """The diagnosis of an operating-system level failure, whatever library raised it; None if
    the exception is not one of these (the type's own mapping decides then)."""
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls"
    if isinstance(exc, PermissionError):
        return "permission"
    if isinstance(exc, FileNotFoundError | NotADirectoryError | IsADirectoryError):
        return "not_found"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "unreachable"
    return None


@dataclass(frozen=True)
class Entry:
    """One thing browse shows: ``kind`` says what it is (schema, table, view, folder, file, bucket,
    prefix, object, topic, node, register); ``path`` is what to pass back to browse or read."""

    name: str
    path: str
    kind: str
    size: int | None = None
    children: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Listing:
    entries: list[Entry]
    next_cursor: str | None


@dataclass
class ReadStream:
    """What a read gives: bytes in ``format`` (csv, tsv, parquet, jsonl), ``size_hint`` bytes
    (or None when unknown) for progress, and ``description``: the source as the contract records
    it. ``close`` stops the read early (cancel) and frees the connection. ``tail``: see below."""

    format: str
    chunks: Iterator[bytes]
    size_hint: int | None
    description: dict[str, Any]
    close: Callable[[], None] = lambda: None
    # the last bytes of the source, fetched ahead (of exactly ``size_hint`` bytes) where the format
    # keeps its index at the end (a Parquet footer), so the import can decode while it reads
    tail: bytes | None = None


class _Readable(Protocol):
    def read(self, size: int) -> bytes: ...

    def close(self) -> None: ...


def handle_stream(
    fmt: str,
    handle: _Readable,
    size: int | None,
    description: dict[str, Any],
    close_session: Callable[[], None],
    diagnose: Callable[[Exception], ConnectorError],
    chunk_bytes: int,
) -> ReadStream:
    """A ReadStream over an open remote file (SFTP, SMB): ``chunk_bytes`` at a time until the end
    or a cancel, the file and its session closed either way, a failure mid-read diagnosed."""
    closed = False

    def stop() -> None:
        nonlocal closed
        closed = True
        with contextlib.suppress(Exception):
            handle.close()
        close_session()

    def chunks() -> Iterator[bytes]:
        try:
            while not closed and (data := handle.read(chunk_bytes)):
                yield data
        except Exception as exc:
            raise diagnose(exc) from exc
        finally:
            stop()

    return ReadStream(fmt, chunks(), size, description, stop)


class FileSource(ma.Schema):
    """What a file-shaped type (folder, SFTP, FTP, SMB) imports: one file, its format if the name
    does not tell it."""

    path = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1024))
    format = ma.fields.String(validate=ma.validate.OneOf(("csv", "tsv", "parquet", "jsonl")))


class FileTarget(ma.Schema):
    """Where a file-shaped type delivers: a folder, and whether existing files are replaced."""

    folder = ma.fields.String(load_default="", validate=ma.validate.Length(max=1024))
    overwrite = ma.fields.Boolean(load_default=False)


class Connector(Protocol):
    def test(self) -> dict[str, Any]: ...

    def browse(self, path: str, cursor: str | None, limit: int) -> Listing: ...

    def read(self, source: Mapping[str, Any]) -> ReadStream: ...

    def write(self, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Environment:
    """What the appliance allows connectors: the webhooks' network policy, the folders a folder
    or SQLite-file connector may use, and the time one network step may take."""

    policy: Policy
    folder_roots: tuple[Path, ...]
    timeout_s: float = 10.0

    def address(self, host: str, port: int) -> str:
        """The checked address of ``host`` (connect to it, not to a second lookup of the name)."""
        try:
            return self.policy.check_host(host, port)
        except DestinationRefused as exc:
            diagnosis = "dns" if "does not resolve" in str(exc) else "not_allowed"
            raise ConnectorError(diagnosis, str(exc)) from exc

    def folder(self, path: str) -> Path:
        """``path`` resolved, when it lies inside one of the allowed folder roots."""
        resolved = Path(path).expanduser().resolve()
        for root in self.folder_roots:
            if resolved == root or resolved.is_relative_to(root):
                return resolved
        # No path in the message: the error handler scrubs every absolute path to `<path>`, which
        # left "<path> is outside the folders connectors may use (<path>, <path>)". Name the key.
        count = len(self.folder_roots)
        where = f"any of the {count} folders in" if count else "a folder in (none is configured)"
        raise ConnectorError(
            "not_allowed",
            f"the path is not under {where} `[connectors] folder_roots`; `sealforge config show` lists them",
        )


def inside(base: Path, relative: str) -> Path:
    """``relative`` under ``base``, refusing anything that climbs out (``..``, absolute, symlinks)."""
    candidate = (base / relative.lstrip("/")).resolve()
    if candidate != base and not candidate.is_relative_to(base):
        raise ConnectorError("not_allowed", f"{relative!r} leads outside the connector's folder")
    return candidate


def file_chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(size):
            yield chunk


class NoCredentials(ma.Schema):
    pass


@dataclass(frozen=True)
class ConnectorType:
    """A registered type. ``open`` is None for a type listed but not built yet: creating one
    answers that it is not available on this appliance."""

    name: str
    summary: str
    settings: type[ma.Schema] = ma.Schema
    credentials: type[ma.Schema] = NoCredentials
    source: type[ma.Schema] = ma.Schema
    target: type[ma.Schema] | None = None
    open: Callable[[Mapping[str, Any], Mapping[str, Any], Environment], Connector] | None = None
    hosts: Callable[[Mapping[str, Any]], Iterable[tuple[str, int]]] = lambda _settings: ()
    # (settings, given credentials, stored credentials) -> the credentials to seal: what a type
    # makes and keeps itself across rotations (the OPC UA client key pair); None: the given ones
    complete_credentials: Callable[[Mapping[str, Any], dict[str, Any], Mapping[str, Any]], dict[str, Any]] | None = None

    @property
    def available(self) -> bool:
        return self.open is not None
