"""S3-compatible object storage through boto3 (MinIO, Ceph RGW, a NAS's S3 service).

Reads stream the object's body a megabyte at a time; writes go through boto3's transfer manager,
which switches to multipart uploads for large artifacts. The endpoint must pass the webhooks'
network policy (an http(s) URL on the allowed networks). Only the keys given are used: no
credential chain, no instance-metadata lookups, and botocore sends nothing anywhere but the
endpoint (it has no telemetry; retries are capped so a dead endpoint fails fast).
"""

from __future__ import annotations

import threading
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
from appliance.services.connectors.tabular import format_of
from appliance.services.webhooks.destinations import DestinationRefused

_AUTH = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AuthorizationHeaderMalformed",
    "InvalidToken",
    "ExpiredToken",
    "InvalidClientTokenId",
}
_PERMISSION = {"AccessDenied", "AllAccessDisabled", "403", "Forbidden"}
_MISSING = {"NoSuchBucket", "NoSuchKey", "404", "NotFound"}
_MAX_FOOTER = 16 << 20  # a larger Parquet footer is read after the object, as an upload's is
_SESSION_LOCK = threading.Lock()
_SESSIONS: list[Any] = []


def _session() -> Any:
    """One boto3 session for the process: a new one loads botocore's service models again (about
    half a second of CPU per job on the appliance), while clients made from one session share
    them. Every client gets its own keys, region and endpoint, so nothing else is shared; the
    caller holds `_SESSION_LOCK` (a session is not thread-safe, its clients are)."""
    import boto3

    if not _SESSIONS:
        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


class Settings(ma.Schema):
    endpoint_url = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=2048),
        metadata={"description": "http(s)://host:port of the S3 service, on the allowed networks"},
    )
    region = ma.fields.String(load_default="us-east-1", validate=ma.validate.Length(min=1, max=64))
    bucket = ma.fields.String(
        validate=ma.validate.Length(min=3, max=63),
        metadata={"description": "Keep the connector to this bucket (browse shows only it)"},
    )
    addressing_style = ma.fields.String(load_default="path", validate=ma.validate.OneOf(("path", "virtual")))


class Credentials(ma.Schema):
    access_key_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))
    secret_access_key = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))


class Source(ma.Schema):
    bucket = ma.fields.String(validate=ma.validate.Length(min=3, max=63))
    key = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1024))
    format = ma.fields.String(validate=ma.validate.OneOf(("csv", "tsv", "parquet", "jsonl")))


class Target(ma.Schema):
    bucket = ma.fields.String(validate=ma.validate.Length(min=3, max=63))
    prefix = ma.fields.String(load_default="", validate=ma.validate.Length(max=900))
    overwrite = ma.fields.Boolean(load_default=False)


def _diagnose(exc: BaseException) -> ConnectorError:
    from botocore import exceptions as boto

    inner: BaseException | None = exc  # boto3's transfer manager wraps the server's answer (S3UploadFailedError)
    while inner is not None and not isinstance(inner, boto.ClientError):
        inner = inner.__cause__ or inner.__context__
    exc = inner or exc
    if isinstance(exc, boto.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        text = f"{code}: {error.get('Message') or exc}"
        if code in _AUTH:
            return ConnectorError("auth", text)
        if code in _PERMISSION:
            return ConnectorError("permission", text)
        if code in _MISSING:
            return ConnectorError("not_found", text)
        return ConnectorError("protocol", text)
    if isinstance(exc, boto.SSLError):
        return ConnectorError("tls", str(exc))
    if isinstance(exc, boto.ConnectTimeoutError | boto.ReadTimeoutError):
        return ConnectorError("timeout", str(exc))
    if isinstance(exc, boto.EndpointConnectionError):
        cause = exc.__context__
        while cause is not None and classify(cause) is None:
            cause = cause.__context__
        return ConnectorError(classify(cause) if cause else "refused", str(exc))  # type: ignore[arg-type]
    if isinstance(exc, boto.NoCredentialsError | boto.PartialCredentialsError):
        return ConnectorError("auth", str(exc))
    return ConnectorError(classify(exc) or "protocol", str(exc) or type(exc).__name__)


class S3Connector:
    def __init__(self, settings: Mapping[str, Any], credentials: Mapping[str, Any], env: Environment) -> None:
        self.settings, self.credentials, self.env = settings, credentials, env
        try:
            env.policy.check(settings["endpoint_url"])
        except DestinationRefused as exc:
            raise ConnectorError("dns" if "does not resolve" in str(exc) else "not_allowed", str(exc)) from exc
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from botocore.config import Config

            config = Config(
                connect_timeout=self.env.timeout_s,
                read_timeout=max(30.0, self.env.timeout_s),
                retries={"max_attempts": 2, "mode": "standard"},
                s3={"addressing_style": self.settings.get("addressing_style", "path")},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            )
            with _SESSION_LOCK:
                self._client = _session().client(
                    "s3",
                    endpoint_url=self.settings["endpoint_url"],
                    region_name=self.settings.get("region", "us-east-1"),
                    aws_access_key_id=self.credentials.get("access_key_id"),
                    aws_secret_access_key=self.credentials.get("secret_access_key"),
                    config=config,
                )
        return self._client

    def _bucket(self, given: str | None) -> str:
        fixed = self.settings.get("bucket")
        if fixed and given and given != fixed:
            raise ConnectorError("not_allowed", f"this connector is kept to the bucket {fixed!r}")
        bucket = given or fixed
        if not bucket:
            raise ConnectorError("invalid", "name the bucket (the connector's settings name none)")
        return str(bucket)

    def test(self) -> dict[str, Any]:
        try:
            if self.settings.get("bucket"):
                self.client.list_objects_v2(Bucket=self.settings["bucket"], MaxKeys=1)  # needs s3:ListBucket
                return {"bucket": self.settings["bucket"]}
            buckets = self.client.list_buckets().get("Buckets", [])
        except Exception as exc:
            raise _diagnose(exc) from exc
        return {"buckets": len(buckets)}

    def browse(self, path: str, cursor: str | None, limit: int) -> Listing:
        try:
            if not path:
                if self.settings.get("bucket"):
                    return Listing(
                        [Entry(self.settings["bucket"], self.settings["bucket"], "bucket", children=True)], None
                    )
                names = sorted(b["Name"] for b in self.client.list_buckets().get("Buckets", []))
                names = [n for n in names if not cursor or n > cursor]
                entries = [Entry(n, n, "bucket", children=True) for n in names[:limit]]
                return Listing(entries, entries[-1].name if len(names) > limit and entries else None)
            bucket, _, prefix = path.partition("/")
            bucket = self._bucket(bucket)
            if prefix and not prefix.endswith("/"):
                prefix += "/"
            args: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/", "MaxKeys": limit}
            if cursor:
                args["ContinuationToken"] = cursor
            page = self.client.list_objects_v2(**args)
        except ConnectorError:
            raise
        except Exception as exc:
            raise _diagnose(exc) from exc
        entries = [
            Entry(p["Prefix"][len(prefix) :].rstrip("/"), f"{bucket}/{p['Prefix']}", "prefix", children=True)
            for p in page.get("CommonPrefixes", [])
        ]
        for item in page.get("Contents", []):
            name = item["Key"][len(prefix) :]
            entries.append(
                Entry(
                    name,
                    f"{bucket}/{item['Key']}",
                    "object",
                    size=item["Size"],
                    detail={
                        "format": format_of(name),
                        "etag": item.get("ETag", "").strip('"'),
                        "modified": item["LastModified"].isoformat(),
                    },
                )
            )
        return Listing(entries, page.get("NextContinuationToken") if page.get("IsTruncated") else None)

    def read(self, source: Mapping[str, Any]) -> ReadStream:
        bucket = self._bucket(source.get("bucket"))
        key = source["key"]
        fmt = source.get("format") or format_of(key)
        if fmt is None:
            raise ConnectorError("invalid", f"cannot tell the format of {key!r}; pass source.format")
        try:
            answer = self.client.get_object(Bucket=bucket, Key=key)
        except Exception as exc:
            raise _diagnose(exc) from exc
        body = answer["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(1 << 20)
            except Exception as exc:
                raise _diagnose(exc) from exc
            finally:
                body.close()

        description = {
            "bucket": bucket,
            "key": key,
            "etag": str(answer.get("ETag", "")).strip('"'),
            "size": answer.get("ContentLength"),
            "version_id": answer.get("VersionId"),
        }
        size = answer.get("ContentLength")
        tail = self._footer(bucket, key, str(answer.get("ETag", "")), size) if fmt == "parquet" else None
        return ReadStream(fmt, chunks(), size, description, body.close, tail)

    def _footer(self, bucket: str, key: str, etag: str, size: int | None) -> bytes | None:
        """The object's last bytes, holding a Parquet file's footer (which says where every row
        group lies), fetched by ranged GETs of the same version (If-Match) while the body stream
        waits, so the import decodes the row groups as they arrive instead of after the last
        byte. Best effort: on any failure the import checks the file after the read, as before
        (`streaming.ParquetStreamCheck` checks the footer against the bytes that arrived)."""
        from appliance.services.datasets.streaming import TAIL_BYTES

        if not size or size < 12 or not etag:
            return None
        try:
            tail = self._range(bucket, key, etag, max(0, size - TAIL_BYTES), size)
            footer = int.from_bytes(tail[-8:-4], "little") + 8 if tail[-4:] == b"PAR1" else 0
            if len(tail) < footer <= min(size, _MAX_FOOTER):
                tail = self._range(bucket, key, etag, size - footer, size)
        except Exception:  # the footer is an accelerator: the read and its errors are the GET's
            return None
        return tail

    def _range(self, bucket: str, key: str, etag: str, start: int, end: int) -> bytes:
        answer = self.client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}", IfMatch=etag)
        body = answer["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
        if len(data) != end - start:
            raise ConnectorError("protocol", "the ranged GET answered another length")
        return data

    def write(self, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]:
        bucket = self._bucket(target.get("bucket"))
        prefix = target.get("prefix", "")
        key = f"{prefix.rstrip('/')}/{name}" if prefix else name
        try:
            if not target.get("overwrite"):
                try:
                    self.client.head_object(Bucket=bucket, Key=key)
                except Exception as exc:
                    if _diagnose(exc).diagnosis != "not_found":
                        raise
                else:
                    raise ConnectorError("invalid", f"{bucket}/{key} exists; set target.overwrite to replace it")
            self.client.upload_file(str(path), bucket, key)
            head = self.client.head_object(Bucket=bucket, Key=key)
        except ConnectorError:
            raise
        except Exception as exc:
            raise _diagnose(exc) from exc
        return {"bucket": bucket, "key": key, "bytes": head["ContentLength"], "etag": head.get("ETag", "").strip('"')}


def _hosts(settings: Mapping[str, Any]) -> list[tuple[str, int]]:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(settings["endpoint_url"])
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return []
    return [(parts.hostname, port)] if parts.hostname else []


TYPE = ConnectorType(
    name="s3",
    summary="S3-compatible object storage: read objects, write artifacts as objects",
    settings=Settings,
    credentials=Credentials,
    source=Source,
    target=Target,
    open=lambda settings, credentials, env: S3Connector(settings, credentials, env),
    hosts=_hosts,
)
