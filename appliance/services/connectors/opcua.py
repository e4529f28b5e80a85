"""OPC UA through asyncua: browse the address space, record tags by subscription for a window.

The client speaks to the endpoint's address as the network policy checked it. A recording runs
the asyncua client on its own event loop in a thread: each data change (its source time, node,
value and status) goes through a bounded queue to the reading side, which writes CSV rows and
yields between notifications, so an import's cancel lands within half a second. The window ends
after `duration_s`, or earlier when the reader closes the stream (a cancel), and the subscription
and session are closed either way. HistoryRead is left for a server that keeps history (the
appliance's simulator serves live values only).
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Iterator, Mapping
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
from appliance.services.connectors.tabular import csv_line

_AUTH = ("BadUserAccessDenied", "BadIdentityTokenRejected", "BadIdentityTokenInvalid", "BadUserSignatureInvalid")
_NOT_FOUND = ("BadNodeIdUnknown", "BadNodeIdInvalid", "BadBrowseNameInvalid")
_TLS = ("BadSecurityPolicyRejected", "BadCertificate", "BadSecurityChecksFailed")
_PERMISSION = ("BadNotReadable", "BadUserAccessDenied")
_DONE = object()


class Settings(ma.Schema):
    endpoint_url = ma.fields.String(
        required=True,
        validate=[ma.validate.Length(min=1, max=2048), ma.validate.Regexp(r"^opc\.tcp://", error="an opc.tcp:// URL")],
    )


class Credentials(ma.Schema):
    username = ma.fields.String(validate=ma.validate.Length(min=1, max=256))
    password = ma.fields.String(validate=ma.validate.Length(max=1000))


class Source(ma.Schema):
    nodes = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=500)),
        required=True,
        validate=ma.validate.Length(min=1, max=500),
        metadata={"description": "NodeIds, as `ns=2;s=FIT101`"},
    )
    duration_s = ma.fields.Float(load_default=60.0, validate=ma.validate.Range(0.5, 86_400))
    publishing_interval_ms = ma.fields.Integer(load_default=1000, validate=ma.validate.Range(20, 60_000))


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

    def _client(self) -> Any:
        from asyncua import Client

        client = Client(self.url, timeout=self.env.timeout_s)
        if self.credentials.get("username"):
            client.set_user(self.credentials["username"])
            client.set_password(self.credentials.get("password", ""))
        return client

    def _run(self, work: Any) -> Any:
        async def session() -> Any:
            client = self._client()
            try:
                await asyncio.wait_for(client.connect(), self.env.timeout_s)
            except BaseException as exc:
                raise _diagnose(exc) from exc
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
            return {"namespaces": len(namespaces), "objects": len(objects)}

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
        connector = self

        class Handler:
            def __init__(self, names: dict[str, str]) -> None:
                self.names = names

            def datachange_notification(self, node: Any, value: Any, data: Any) -> None:
                dv = data.monitored_item.Value
                when = dv.SourceTimestamp or dv.ServerTimestamp or datetime.now(UTC)
                node_id = node.nodeid.to_string()
                status = dv.StatusCode.name if dv.StatusCode is not None else "Good"
                stamp = when.replace(tzinfo=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                rows.put([stamp, node_id, self.names.get(node_id, node_id), value, status])

        async def record(client: Any) -> None:
            nodes = [client.get_node(n) for n in source["nodes"]]
            names = {}
            for node in nodes:
                names[node.nodeid.to_string()] = (await node.read_browse_name()).Name
            subscription = await client.create_subscription(source["publishing_interval_ms"], Handler(names))
            try:
                await subscription.subscribe_data_change(nodes)
                end = time.monotonic() + source["duration_s"]
                while not stop.is_set() and time.monotonic() < end:
                    await asyncio.sleep(min(0.1, max(0.0, end - time.monotonic())))
            finally:
                await subscription.delete()

        def worker() -> None:
            try:
                connector._run(record)
                rows.put(_DONE)
            except ConnectorError as exc:
                rows.put(exc)
            except Exception as exc:  # the reading side raises it with its diagnosis
                rows.put(_diagnose(exc))

        thread = threading.Thread(target=worker, name="opcua-recording", daemon=True)
        thread.start()

        def close() -> None:
            stop.set()
            thread.join(timeout=self.env.timeout_s + 5)

        def chunks() -> Iterator[bytes]:
            try:
                yield csv_line(["time", "node", "name", "value", "status"])
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

        hint = int(len(source["nodes"]) * source["duration_s"] * 1000 / source["publishing_interval_ms"] * 60)
        description = {**source, "endpoint_url": self.settings["endpoint_url"]}
        return ReadStream("csv", chunks(), hint, description, close)

    def write(self, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]:
        raise ConnectorError("invalid", "an OPC UA connector is a source only")


def _hosts(settings: Mapping[str, Any]) -> list[tuple[str, int]]:
    try:
        parts = urlsplit(settings["endpoint_url"])
        return [(parts.hostname, parts.port or 4840)] if parts.hostname else []
    except ValueError:
        return []


TYPE = ConnectorType(
    name="opcua",
    summary="OPC UA: browse the address space, record tags by subscription for a window",
    settings=Settings,
    credentials=Credentials,
    source=Source,
    target=None,
    open=lambda settings, credentials, env: OpcUaConnector(settings, credentials, env),
    hosts=_hosts,
)
