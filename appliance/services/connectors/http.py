"""HTTP(S) file download through httpx: a report, a historian's CSV export, a data logger's file.

The URL is checked by the webhooks' network policy and the request goes to the checked address
(the name kept in `Host` and, for TLS, in SNI and the certificate check), so a DNS answer that
changes between check and connect cannot send it elsewhere. Redirects are not followed: a
redirect could lead off the allowed networks, so it is reported with its target instead. The
body streams a megabyte at a time. A source only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

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
from appliance.services.webhooks.destinations import DestinationRefused, Target

_STATUS = {401: "auth", 403: "permission", 404: "not_found", 410: "not_found"}


class Settings(ma.Schema):
    base_url = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=2048),
        metadata={"description": "http(s) URL; sources are paths relative to it"},
    )
    verify_tls = ma.fields.Boolean(load_default=True)


class Credentials(ma.Schema):
    username = ma.fields.String(validate=ma.validate.Length(min=1, max=256))
    password = ma.fields.String(validate=ma.validate.Length(max=1000))
    token = ma.fields.String(validate=ma.validate.Length(min=1, max=4096), metadata={"description": "Bearer token"})


class Source(ma.Schema):
    path = ma.fields.String(load_default="", validate=ma.validate.Length(max=2048))
    format = ma.fields.String(validate=ma.validate.OneOf(("csv", "tsv", "parquet", "jsonl")))


def _diagnose(exc: BaseException, url: str) -> ConnectorError:
    import httpx

    found = classify(exc) or (classify(exc.__context__) if exc.__context__ else None)
    if isinstance(exc, httpx.TimeoutException):
        found = "timeout"
    elif isinstance(exc, httpx.ConnectError) and not found:
        text = str(exc).lower()
        found = "tls" if "ssl" in text or "certificate" in text else "refused" if "refused" in text else "unreachable"
    return ConnectorError(found or "protocol", f"{url}: {exc or type(exc).__name__}")


class HttpConnector:
    def __init__(self, settings: Mapping[str, Any], credentials: Mapping[str, Any], env: Environment) -> None:
        self.settings, self.credentials, self.env = settings, credentials, env

    def _target(self, path: str) -> Target:
        url = urljoin(self.settings["base_url"], path) if path else self.settings["base_url"]
        base, wanted = urlsplit(self.settings["base_url"]), urlsplit(url)
        if (wanted.scheme, wanted.netloc) != (base.scheme, base.netloc):
            raise ConnectorError("not_allowed", f"{path!r} leads off the connector's server")
        try:
            return self.env.policy.check(url)
        except DestinationRefused as exc:
            raise ConnectorError("dns" if "does not resolve" in str(exc) else "not_allowed", str(exc)) from exc

    def _request(self, method: str, path: str) -> tuple[Any, Any, Target]:
        import httpx

        target = self._target(path)
        headers = {"Host": target.host_header, "User-Agent": "sealforge-connector"}
        if self.credentials.get("token"):
            headers["Authorization"] = f"Bearer {self.credentials['token']}"
        auth = (
            (self.credentials["username"], self.credentials.get("password", ""))
            if self.credentials.get("username")
            else None
        )
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        client = httpx.Client(
            timeout=self.env.timeout_s,
            follow_redirects=False,
            trust_env=False,
            verify=bool(self.settings.get("verify_tls", True)),
            auth=auth,
        )
        try:
            response = client.send(
                client.build_request(method, target.connect_url, headers=headers, extensions=extensions), stream=True
            )
        except httpx.HTTPError as exc:
            client.close()
            raise _diagnose(exc, target.url) from exc
        if response.status_code >= 300:
            response.close()
            client.close()
            if 300 <= response.status_code < 400:
                where = response.headers.get("location", "?")
                raise ConnectorError("invalid", f"{target.url} redirects to {where}; name that URL instead")
            raise ConnectorError(
                _STATUS.get(response.status_code, "protocol"), f"{target.url}: HTTP {response.status_code}"
            )
        return client, response, target

    def test(self) -> dict[str, Any]:
        client, response, _ = self._request("HEAD", "")
        response.close()
        client.close()
        return {"status": response.status_code, "content_type": response.headers.get("content-type")}

    def browse(self, path: str, cursor: str | None, limit: int) -> Listing:
        client, response, target = self._request("HEAD", path)
        response.close()
        client.close()
        name = Path(urlsplit(target.url).path).name or target.url
        size = response.headers.get("content-length")
        entry = Entry(
            name,
            path,
            "file",
            size=int(size) if size and size.isdigit() else None,
            detail={
                "url": target.url,
                "content_type": response.headers.get("content-type"),
                "format": format_of(name),
                "last_modified": response.headers.get("last-modified"),
            },
        )
        return Listing([entry], None)

    def read(self, source: Mapping[str, Any]) -> ReadStream:
        import httpx

        client, response, target = self._request("GET", source.get("path", ""))
        fmt = source.get("format") or format_of(urlsplit(target.url).path)
        if fmt is None:
            response.close()
            client.close()
            raise ConnectorError("invalid", f"cannot tell the format of {target.url}; pass source.format")
        size = response.headers.get("content-length")

        def close() -> None:
            response.close()
            client.close()

        def chunks() -> Iterator[bytes]:
            try:
                yield from response.iter_raw(1 << 20)
            except httpx.HTTPError as exc:
                raise _diagnose(exc, target.url) from exc
            finally:
                close()

        description = {
            "url": target.url,
            "etag": response.headers.get("etag"),
            "last_modified": response.headers.get("last-modified"),
            "size": size,
        }
        return ReadStream(fmt, chunks(), int(size) if size and size.isdigit() else None, description, close)

    def write(self, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]:
        raise ConnectorError("invalid", "an HTTP connector is a source only")


def _hosts(settings: Mapping[str, Any]) -> list[tuple[str, int]]:
    try:
        parts = urlsplit(settings["base_url"])
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return []
        return [(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))]
    except ValueError:
        return []


TYPE = ConnectorType(
    name="http",
    summary="HTTP(S) file download: a report, an export or a logger's file, streamed into a dataset",
    settings=Settings,
    credentials=Credentials,
    source=Source,
    target=None,
    open=lambda settings, credentials, env: HttpConnector(settings, credentials, env),
    hosts=_hosts,
)
