"""OPC UA through asyncua: browse the address space, import tags live or from history.

The client speaks to the endpoint's address as the network policy checked it, over the None
policy or a signed (and encrypted) secure channel with the connector's client certificate
(`opcua_security`). An import runs the asyncua client on its own event loop in a thread and hands
rows through a bounded queue to the reading side, which writes CSV and yields between them, so an
import's cancel lands within half a second. Two modes share the rows (source time, node, name,
value, status):

* `subscribe`: one subscription with a monitored item per node, for a window of `duration_s`;
  each data change is a row. The window ends early when the reader closes the stream (a cancel).
* `history`: HistoryRead with ReadRawModifiedDetails over `[start, end]`, node after node, at most
  `page_values` values a call, following the server's continuation points until the range is
  read; a cancel stops between pages and releases the server's continuation point. Only one page
  is in memory at a time, however long the range.

The subscription or the continuation points and the session are closed either way.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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
from appliance.services.connectors.opcua_security import (
    Credentials,
    Settings,
    certificate_view,
    complete_credentials,
    secure,
)
from appliance.services.connectors.tabular import csv_line

_AUTH = ("BadUserAccessDenied", "BadIdentityTokenRejected", "BadIdentityTokenInvalid", "BadUserSignatureInvalid")
_NOT_FOUND = ("BadNodeIdUnknown", "BadNodeIdInvalid", "BadBrowseNameInvalid")
_TLS = (
    "BadSecurityPolicyRejected",
    "BadCertificate",
    "BadSecurityChecksFailed",
    "BadCertificateInvalid",
    "BadCertificateUntrusted",
    "BadCertificateUriInvalid",
    "BadCertificateTimeInvalid",
    "BadCertificateRevoked",
    "BadCertificateUseNotAllowed",
    "BadSecurityModeRejected",
)
_PERMISSION = ("BadNotReadable", "BadUserAccessDenied")
_HISTORY = ("BadHistoryOperationUnsupported", "BadHistoryOperationInvalid", "BadNoData")
_DONE = object()
HEADER = ["time", "node", "name", "value", "status"]


def _instant(value: str) -> datetime:
    """An RFC 3339 / ISO 8601 time with its offset (a bare local time means nothing to a server)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ma.ValidationError("an ISO 8601 time with an offset, as 2026-12-01T05:00:00Z") from exc
    if parsed.tzinfo is None:
        raise ma.ValidationError("give the offset (Z for UTC): a server keeps history in UTC")
    return parsed.astimezone(UTC)


class Source(ma.Schema):
    nodes = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=500)),
        required=True,
        validate=ma.validate.Length(min=1, max=500),
        metadata={"description": "NodeIds, as `ns=2;s=FIT101`"},
    )
    mode = ma.fields.String(load_default="subscribe", validate=ma.validate.OneOf(("subscribe", "history")))
    duration_s = ma.fields.Float(load_default=60.0, validate=ma.validate.Range(0.5, 86_400))
    publishing_interval_ms = ma.fields.Integer(load_default=1000, validate=ma.validate.Range(20, 60_000))
    start = ma.fields.String(validate=_instant, metadata={"description": "history: the range's start (ISO 8601)"})
    end = ma.fields.String(validate=_instant, metadata={"description": "history: its end; default: now"})
    page_values = ma.fields.Integer(load_default=1000, validate=ma.validate.Range(1, 100_000))

    @ma.validates_schema
    def _range(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("mode") != "history":
            if "start" in data or "end" in data:
                raise ma.ValidationError("start and end are for mode history", "start")
            return
        if "start" not in data:
            raise ma.ValidationError("mode history reads a range: give its start", "start")
        end = _instant(data["end"]) if "end" in data else datetime.now(UTC)
        if _instant(data["start"]) >= end:
            raise ma.ValidationError("the start must come before the end", "end")


def _diagnose(exc: BaseException) -> ConnectorError:
    from asyncua import ua

    found = classify(exc)
    if found:
        return ConnectorError(found, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, ua.UaStatusCodeError):
        name = ua.StatusCode(exc.code).name
        for names, diagnosis in (
            (_AUTH, "auth"),
            (_NOT_FOUND, "not_found"),
            (_TLS, "tls"),
            (_PERMISSION, "permission"),
            (_HISTORY, "invalid"),
        ):
            if name in names:
                return ConnectorError(diagnosis, name)
        return ConnectorError("protocol", name)
    if isinstance(exc, asyncio.TimeoutError):
        return ConnectorError("timeout", "the server did not answer in time")
    return ConnectorError("protocol", f"{type(exc).__name__}: {exc}")


class OpcUaConnector:
    def __init__(self, settings: Mapping[str, Any], credentials: Mapping[str, Any], env: Environment) -> None:
        self.settings, self.credentials, self.env = settings, credentials, env
        parts = urlsplit(settings["endpoint_url"])
        if not parts.hostname:
            raise ConnectorError("invalid", "the endpoint URL names no host")
        port = parts.port or 4840
        address = env.address(parts.hostname, port)
        literal = f"[{address}]" if ":" in address else address
        self.url = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path, parts.query, ""))
        self.security: dict[str, Any] = {}

    def _refused(self, exc: BaseException) -> ConnectorError:
        """A failed connect, diagnosed; a refused client certificate is named by the thumbprint
        the operator looks for in the server's list of rejected certificates."""
        if "No matching endpoints" in str(exc):  # asyncua's answer when the None endpoint is not offered
            return ConnectorError(
                "tls", "the server offers no endpoint without security: set a security_policy (Basic256Sha256, …)"
            )
        error = _diagnose(exc)
        cert = self.credentials.get("client_certificate")
        if error.diagnosis == "tls" and cert and self.settings.get("security_policy", "None") != "None":
            thumbprint = certificate_view(cert)["thumbprint"]
            return ConnectorError(
                "tls",
                f"{error.message}: the server refused the connector's client certificate (thumbprint {thumbprint}); "
                "trust it in the server's certificate list, then test again",
            )
        return error

    async def _client(self) -> Any:
        from asyncua import Client

        client = Client(self.url, timeout=self.env.timeout_s)
        self.security = await asyncio.wait_for(secure(client, self.settings, self.credentials), self.env.timeout_s)
        if self.credentials.get("username"):
            client.set_user(self.credentials["username"])
            client.set_password(self.credentials.get("password", ""))
        return client

    def _run(self, work: Any) -> Any:
        async def session() -> Any:
            try:
                client = await self._client()
                await asyncio.wait_for(client.connect(), self.env.timeout_s)
            except ConnectorError:
                raise
            except BaseException as exc:
                raise self._refused(exc) from exc
            try:
                return await work(client)
            except ConnectorError:
                raise
            except Exception as exc:
                raise _diagnose(exc) from exc
            finally:
                await client.disconnect()

        return asyncio.run(session())

    def test(self) -> dict[str, Any]:
        async def work(client: Any) -> dict[str, Any]:
            namespaces = await client.get_namespace_array()
            objects = await client.nodes.objects.get_children()
            return {"namespaces": len(namespaces), "objects": len(objects), **self.security}

        result: dict[str, Any] = self._run(work)
        return result

    def browse(self, path: str, cursor: str | None, limit: int) -> Listing:
        from asyncua import ua

        async def work(client: Any) -> Listing:
            node = client.get_node(path) if path else client.nodes.objects
            await node.read_node_class()  # an unknown node raises here; browsing it would answer nothing
            children = await node.get_children()
            start = int(cursor) if cursor and cursor.isdigit() else 0
            entries = []
            for child in children[start : start + limit]:
                name = (await child.read_browse_name()).Name
                node_class = await child.read_node_class()
                detail: dict[str, Any] = {"node_class": node_class.name}
                if node_class == ua.NodeClass.Variable:
                    detail["data_type"] = (await child.read_data_type()).to_string()
                kind = {"Object": "node", "Variable": "variable", "Method": "method"}.get(node_class.name, "node")
                entries.append(
                    Entry(
                        name, child.nodeid.to_string(), kind, children=node_class != ua.NodeClass.Method, detail=detail
                    )
                )
            more = start + limit < len(children)
            return Listing(entries, str(start + limit) if more else None)

        listing: Listing = self._run(work)
        return listing

    def read(self, source: Mapping[str, Any]) -> ReadStream:
        source = Source().load(dict(source))
        rows: queue.Queue[Any] = queue.Queue(maxsize=10_000)
        stop = threading.Event()
        description = {**source, "endpoint_url": self.settings["endpoint_url"]}

        def put(row: list[Any]) -> bool:
            """Hand a row over; False once the reader closed the stream (nobody takes it then)."""
            while not stop.is_set():
                try:
                    rows.put(row, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        if source["mode"] == "history":
            work = self._history(source, put, stop, description)
            hint = None
        else:
            work = self._subscription(source, put, stop)
            hint = int(len(source["nodes"]) * source["duration_s"] * 1000 / source["publishing_interval_ms"] * 60)

        def worker() -> None:
            try:
                self._run(work)
                rows.put(_DONE)
            except ConnectorError as exc:
                rows.put(exc)
            except Exception as exc:  # the reading side raises it with its diagnosis
                rows.put(_diagnose(exc))

        thread = threading.Thread(target=worker, name=f"opcua-{source['mode']}", daemon=True)
        thread.start()

        def close() -> None:
            stop.set()
            thread.join(timeout=self.env.timeout_s + 5)

        def chunks() -> Iterator[bytes]:
            try:
                yield csv_line(HEADER)
                while True:
                    try:
                        item = rows.get(timeout=0.5)
                    except queue.Empty:
                        yield b""  # a pause the reader sees: the import checks its cancel flag here
                        continue
                    if item is _DONE:
                        return
                    if isinstance(item, ConnectorError):
                        raise item
                    yield csv_line(item)
            finally:
                close()

        return ReadStream("csv", chunks(), hint, description, close)

    @staticmethod
    async def _names(client: Any, node_ids: list[str]) -> list[tuple[Any, str]]:
        """Each node with its browse name (an unknown node fails here, before anything is read)."""
        nodes = [client.get_node(n) for n in node_ids]
        return [(node, (await node.read_browse_name()).Name) for node in nodes]

    def _subscription(self, source: Mapping[str, Any], put: Callable[[list[Any]], bool], stop: threading.Event) -> Any:
        class Handler:
            def __init__(self, names: dict[str, str]) -> None:
                self.names = names

            def datachange_notification(self, node: Any, value: Any, data: Any) -> None:
                dv = data.monitored_item.Value
                node_id = node.nodeid.to_string()
                put([_stamp(dv), node_id, self.names.get(node_id, node_id), value, _status(dv)])

        async def record(client: Any) -> None:
            named = await self._names(client, source["nodes"])
            names = {node.nodeid.to_string(): name for node, name in named}
            subscription = await client.create_subscription(source["publishing_interval_ms"], Handler(names))
            try:
                await subscription.subscribe_data_change([node for node, _ in named])
                end = time.monotonic() + source["duration_s"]
                while not stop.is_set() and time.monotonic() < end:
                    await asyncio.sleep(min(0.1, max(0.0, end - time.monotonic())))
            finally:
                await subscription.delete()

        return record

    def _history(
        self,
        source: Mapping[str, Any],
        put: Callable[[list[Any]], bool],
        stop: threading.Event,
        description: dict[str, Any],
    ) -> Any:
        """HistoryRead (raw) of each node over the range, page by page; `description` counts the
        pages and values read (they end up in the import's record)."""
        from asyncua import ua

        start = _instant(source["start"])
        end = _instant(source["end"]) if "end" in source else datetime.now(UTC)
        counts: dict[str, Any] = {"end": _iso(end), "pages": 0, "values": 0}
        description["read"] = counts

        async def page(client: Any, node: Any, point: bytes | None, release: bool = False) -> Any:
            details = ua.ReadRawModifiedDetails()
            details.IsReadModified = False
            details.StartTime, details.EndTime = start, end
            details.NumValuesPerNode = source["page_values"]
            details.ReturnBounds = False
            value_id = ua.HistoryReadValueId()
            value_id.NodeId = node.nodeid
            value_id.ContinuationPoint = point
            params = ua.HistoryReadParameters()
            params.HistoryReadDetails = details
            params.TimestampsToReturn = ua.TimestampsToReturn.Source
            params.ReleaseContinuationPoints = release
            params.NodesToRead.append(value_id)
            return (await client.uaclient.history_read(params))[0]

        async def readable(node: Any, node_id: str) -> None:
            """A node that keeps no history, or whose history this user may not read, is named
            before any page is asked for (a server may answer either with an empty page)."""
            bit = ua.AccessLevel.HistoryRead.mask
            try:
                levels = [
                    (await node.read_attribute(a)).Value.Value
                    for a in (ua.AttributeIds.AccessLevel, ua.AttributeIds.UserAccessLevel)
                ]
            except ua.UaStatusCodeError as exc:
                raise ConnectorError("invalid", f"{node_id} is not a variable: it has no history") from exc
            if not levels[0] & bit:
                raise ConnectorError("invalid", f"{node_id} keeps no history (its AccessLevel lacks HistoryRead)")
            if not levels[1] & bit:
                raise ConnectorError("permission", f"{node_id}: this user may not read its history")

        async def read(client: Any) -> None:
            named = await self._names(client, source["nodes"])
            for node, _name in named:
                await readable(node, node.nodeid.to_string())
            for node, name in named:
                node_id, point = node.nodeid.to_string(), None
                while not stop.is_set():
                    result = await page(client, node, point)
                    result.StatusCode.check()  # BadHistoryOperationUnsupported: the node keeps no history
                    counts["pages"] += 1
                    for dv in result.HistoryData.DataValues or []:
                        if not put([_stamp(dv), node_id, name, dv.Value.Value if dv.Value else None, _status(dv)]):
                            break
                        counts["values"] += 1
                    point = result.ContinuationPoint or None
                    if point is None:
                        break
                if stop.is_set():
                    if point is not None:  # a cancel mid-range: the server may free what it kept for us
                        await page(client, node, point, release=True)
                    return

        return read

    def write(self, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]:
        raise ConnectorError("invalid", "an OPC UA connector is a source only")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _stamp(dv: Any) -> str:
    """A value's source time (else the server's, else now), RFC 3339 UTC to the millisecond."""
    when = dv.SourceTimestamp or dv.ServerTimestamp or datetime.now(UTC)
    return _iso(when.replace(tzinfo=when.tzinfo or UTC))


def _status(dv: Any) -> str:
    return dv.StatusCode.name if dv.StatusCode is not None else "Good"


def _hosts(settings: Mapping[str, Any]) -> list[tuple[str, int]]:
    try:
        parts = urlsplit(settings["endpoint_url"])
        return [(parts.hostname, parts.port or 4840)] if parts.hostname else []
    except ValueError:
        return []


TYPE = ConnectorType(
    name="opcua",
    summary="OPC UA: browse the address space, import tags by subscription for a window or by HistoryRead",
    settings=Settings,
    credentials=Credentials,
    source=Source,
    target=None,
    open=lambda settings, credentials, env: OpcUaConnector(settings, credentials, env),
    hosts=_hosts,
    complete_credentials=complete_credentials,
)
