"""OPC UA server for live plants (asyncua): the address space of `node_map`, updated every scan.

What a client gets:

* a variable per tag (Double with EURange/EngineeringUnits, or Boolean) whose StatusCode is the
  reading's quality from the engine (`core.sensors`): Good, Uncertain_EngineeringUnitsExceeded when
  the transmitter is pinned at a range end, Uncertain_LastUsableValue when the device stopped
  answering, Bad_SensorFailure when the value is not finite (other tags: Good inside the EURange),
  with the plant's simulated time as SourceTimestamp;
* writes to setpoints, parameters, modes, commands and manual outputs (AccessLevel CurrentWrite).
  They go to `LivePlant.write_many` before the address space stores them, so a value outside the
  tag's range is refused (BadOutOfRange) and nothing of that request is written; while the plant
  is paused every write and method call is refused with BadInvalidState;
* a method per command (Start/Stop, On/Off, Reset), and an AlarmEventType event from the plant object
  whenever a status tag (alarm, trip) goes true, and again when it clears;
* with `history_values`, HistoryRead (raw, paged with continuation points) of the last that many
  values of every variable, as a historian answers it (`opcua_history`); the variables then say
  so (Historizing, AccessLevel HistoryRead).

Security (`opcua_auth`): SignAndEncrypt with Basic256Sha256, Aes128_Sha256_RsaOaep and
Aes256_Sha256_RsaPss, with a self-signed server certificate made at first start in `cert_dir` and
reused after (`certs`), user names and passwords checked by the caller's authenticator off the
event loop (`opcua_gate`), a role per session, and a trust list of client certificates
(`opcua_trust`). The `None` policy only when asked for, and then for anonymous sessions only.
Without a `security` argument the server offers just that None endpoint, read-only.

Everything runs on the event loop that called `start()`; `update()` must be awaited on it.
"""

from __future__ import annotations

import logging
import math
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from asyncua import Node, Server, ua
from asyncua.common.callback import CallbackType, ServerItemCallback
from asyncua.server.event_generator import EventGenerator

from simulators.core.sensors import QUALITY_BAD, QUALITY_GOOD, QUALITY_RANGE, QUALITY_STALE
from simulators.errors import PlantPausedError, SimulationParamError
from simulators.live import LivePlant
from simulators.protocols.certs import CertificatePair, ensure_server_certificate
from simulators.protocols.node_map import UNECE_NAMESPACE, NodeMap, VariableNode
from simulators.protocols.opcua_auth import OpcUaSecurity, PasswordUsers, RoleRuleset
from simulators.protocols.opcua_gate import GatedServer, LoginGate
from simulators.protocols.opcua_history import TagHistory, micros
from simulators.protocols.opcua_space import new_server
from simulators.protocols.opcua_trust import TrustList

log = logging.getLogger(__name__)

WriteHook = Callable[[Mapping[str, Any], str], None]
APPLICATION_URI = "urn:sealforge:live-plant"
TYPES_NAMESPACE = "urn:sealforge:types"
ALARM_EVENT_TYPE = "AlarmEventType"  # string node id in TYPES_NAMESPACE


def _nid(identifier: str | int, ns: int = 0) -> ua.NodeId:
    """A NodeId from plain Python values (asyncua annotates its fields with its own int/str subclasses)."""
    return ua.NodeId(identifier, ns)  # type: ignore[arg-type]


def _code(code: int) -> ua.StatusCode:
    return ua.StatusCode(code)  # type: ignore[arg-type]


GOOD = _code(ua.StatusCodes.Good)
UNCERTAIN_RANGE = _code(ua.StatusCodes.UncertainEngineeringUnitsExceeded)
BAD = _code(ua.StatusCodes.BadSensorFailure)
# The engine's reading quality (core.sensors codes) as OPC UA StatusCodes.
QUALITY_STATUS = {
    QUALITY_RANGE: UNCERTAIN_RANGE,
    QUALITY_STALE: _code(ua.StatusCodes.UncertainLastUsableValue),
    QUALITY_BAD: BAD,
}
SECURE_POLICIES = (
    ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
    ua.SecurityPolicyType.Aes128Sha256RsaOaep_SignAndEncrypt,
    ua.SecurityPolicyType.Aes256Sha256RsaPss_SignAndEncrypt,
)
CLEARED_SEVERITY = 100


@dataclass
class _Served:
    """One plant in the address space: its map, namespace, node ids and what was last published."""

    plant: LivePlant
    map: NodeMap
    ns: int = 0
    node_ids: dict[str, ua.NodeId] = field(default_factory=dict)
    variant: dict[str, ua.VariantType] = field(default_factory=dict)
    # per variable, in map order: (tag, node id, variant type, fires alarm events, EU low, EU high)
    points: list[tuple[str, ua.NodeId, ua.VariantType, bool, float, float]] = field(default_factory=list)
    last: list[Any] = field(default_factory=list)  # value last published, per point
    published: bool = False
    time_node: ua.NodeId | None = None
    events: EventGenerator | None = None


class OpcUaPlantServer:
    """OPC UA server for one or more live plants (each in its own namespace and object)."""

    def __init__(
        self,
        plants: LivePlant | Sequence[LivePlant],
        *,
        host: str = "127.0.0.1",
        port: int = 4840,
        path: str = "/sealforge/",
        instances: Sequence[str] | None = None,
        security: OpcUaSecurity | None = None,
        on_write: WriteHook | None = None,
        history_values: int = 0,
        history_page: int = 1000,
    ) -> None:
        plist = [plants] if isinstance(plants, LivePlant) else list(plants)
        names = list(instances) if instances is not None else _default_instances(plist)
        if len(names) != len(plist) or len(set(names)) != len(names):
            raise ValueError("one distinct instance name per plant")
        self.host = host
        self.port = port
        self.path = path if path.startswith("/") else "/" + path
        self.security = security or OpcUaSecurity(allow_none=True, sign_encrypt=False)
        self.on_write = on_write
        if history_values < 0 or history_page < 1:
            raise ValueError("history_values must be >= 0 (0: no history) and history_page >= 1")
        self.history = TagHistory(history_values, history_page) if history_values else None
        self.served = [_Served(p, NodeMap(p.name, p.table, n)) for p, n in zip(plist, names, strict=True)]
        self.certificate: CertificatePair | None = None
        self.trust: TrustList | None = None
        self.gate: LoginGate | None = None
        self.changes = 0
        self.events = 0
        self._server: Server | None = None
        self._writable: dict[ua.NodeId, tuple[_Served, VariableNode]] = {}

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://{self.host}:{self.port}{self.path}"

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def clients(self) -> int:
        """Sessions activated now (a client's connection may carry none while it logs in)."""
        server = self._server
        if server is None:
            return 0
        sessions = getattr(server.iserver, "_external_sessions", {})  # asyncua keeps no public count
        return sum(1 for session in list(sessions.values()) if session.is_activated())

    @property
    def logins(self) -> dict[str, int]:
        """User-name logins so far: admitted, refused, throttled (refused unchecked), shed (too many waiting)."""
        return dict(self.gate.stats) if self.gate is not None else {}

    @property
    def node_maps(self) -> list[NodeMap]:
        return [s.map for s in self.served]

    async def start(self) -> str:
        """Build the address space and listen; returns the endpoint URL. Port 0 picks a free port."""
        if self._server is not None:
            raise RuntimeError("the OPC UA server is already running")
        if self.port == 0:
            self.port = _free_port(self.host)
        sec = self.security
        self.trust = trust = sec.trust_list()
        self.gate = gate = LoginGate(sec, trust)
        server = new_server(PasswordUsers(sec, trust), GatedServer, gate=gate)  # type: ignore[arg-type]
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("Sealforge live plant")
        await server.set_application_uri(APPLICATION_URI)
        policies = []
        tokens: list[type] = []
        if sec.allow_none:
            policies.append(ua.SecurityPolicyType.NoSecurity)
            tokens.append(ua.AnonymousIdentityToken)
        if sec.sign_encrypt:
            assert sec.cert_dir is not None and trust is not None
            self.certificate = ensure_server_certificate(sec.cert_dir, APPLICATION_URI, [self.host])
            await server.load_certificate(str(self.certificate.cert_path))
            await server.load_private_key(str(self.certificate.key_path))
            policies.extend(SECURE_POLICIES)
            tokens.append(ua.UserNameIdentityToken)
            trust.ensure()
            await trust.refresh()
            server.set_certificate_validator(trust)  # type: ignore[arg-type]
        server.set_security_policy(policies, permission_ruleset=RoleRuleset())  # type: ignore[arg-type]
        server.set_identity_tokens(tokens)
        for served in self.served:
            served.ns = await server.register_namespace(served.map.namespace_uri)
        types_ns = await server.register_namespace(TYPES_NAMESPACE)
        alarm_type = await server.get_node(ua.ObjectIds.BaseEventType).add_object_type(
            _nid(ALARM_EVENT_TYPE, types_ns), ua.QualifiedName(ALARM_EVENT_TYPE, types_ns))
        await alarm_type.add_property(types_ns, "TagName", "", varianttype=ua.VariantType.String)
        await alarm_type.add_property(types_ns, "Active", False, varianttype=ua.VariantType.Boolean)
        if self.history is not None:
            server.iserver.history_manager.set_storage(self.history)
        for served in self.served:
            await self._build(server, served, alarm_type)
        server.subscribe_server_callback(CallbackType.PreWrite, self._pre_write)
        await server.start()
        self._server = server
        await self.update()
        log.info("OPC UA for %s on %s", ", ".join(s.map.instance for s in self.served), self.endpoint)
        return self.endpoint

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.stop()

    def namespace_index(self, instance: str | None = None) -> int:
        for served in self.served:
            if instance is None or served.map.instance == instance:
                return served.ns
        raise KeyError(instance)

    # -- address space ----------------------------------------------------------------------------
    async def _build(self, server: Server, served: _Served, alarm_type: Node) -> None:
        nm, ns = served.map, served.ns
        served.node_ids, served.variant, served.points, served.published = {}, {}, [], False
        obj = await server.nodes.objects.add_object(_nid(nm.instance, ns), ua.QualifiedName(nm.instance, ns))
        await obj.write_attribute(ua.AttributeIds.Description, ua.DataValue(ua.Variant(
            ua.LocalizedText(f"{served.plant.plant_cls.title} (live simulation)"))))
        served.time_node = _nid(nm.time_node_id, ns)
        await obj.add_variable(served.time_node, ua.QualifiedName("SimulationTime", ns), 0.0,
                               varianttype=ua.VariantType.Double)
        folders = {f: await obj.add_folder(_nid(nm.folder_id(f), ns), ua.QualifiedName(f, ns))
                   for f in nm.folders}
        values = served.plant.read()
        for var in nm.variables:
            node_id = _nid(var.node_id, ns)
            vtype = ua.VariantType.Boolean if var.data_type == "Boolean" else ua.VariantType.Double
            await _add_variable(folders[var.folder], node_id, var, ns, ua.Variant(values[var.tag], vtype),
                                self.history is not None)
            if self.history is not None:
                self.history.track(node_id, vtype)
            served.node_ids[var.tag] = node_id
            served.variant[var.tag] = vtype
            served.points.append((var.tag, node_id, vtype, var.role == "status" and vtype is ua.VariantType.Boolean,
                                  var.eu_low, var.eu_high))
            if var.writable:
                self._writable[node_id] = (served, var)
        for method in nm.methods:
            await folders[method.folder].add_method(
                _nid(method.node_id, ns), ua.QualifiedName(method.name, ns),
                self._method(served.plant, method.tag, method.value), [], [])
        served.events = await server.get_event_generator(alarm_type, obj.nodeid)
        served.last = [_MISSING] * len(served.points)

    def _method(self, plant: LivePlant, tag: str, value: bool) -> Callable[..., Any]:
        async def call(parent: ua.NodeId, *args: Any) -> list[ua.Variant] | ua.StatusCode:
            try:
                stored = {tag: plant.write(tag, value)}
            except SimulationParamError as exc:  # e.g. the plant is paused
                log.info("OPC UA method call refused: %s", exc)
                # returned, not raised: asyncua answers any exception from a method with BadUnexpectedError
                return _code(ua.StatusCodes.BadInvalidState)
            self._notify(stored)
            return []

        return call

    # -- client writes ----------------------------------------------------------------------------
    def _notify(self, stored: Mapping[str, Any]) -> None:
        if self.on_write is None:
            return
        try:
            self.on_write(stored, "opcua")
        except Exception:  # the write happened; a failing observer must not turn it into an error
            log.exception("on_write callback failed")

    async def _pre_write(self, event: ServerItemCallback, _dispatcher: Any) -> None:
        """Send a client's writes to the plant first; a refused value fails the whole request."""
        if not event.is_external:
            return
        batches: dict[int, tuple[_Served, dict[str, Any]]] = {}
        for wv in event.request_params.NodesToWrite:
            entry = self._writable.get(wv.NodeId)
            if entry is None or wv.AttributeId != ua.AttributeIds.Value:
                continue  # not ours or read-only: the address space answers (BadUserAccessDenied)
            served, var = entry
            variant = wv.Value.Value if wv.Value is not None else None
            if variant is None or variant.VariantType != served.variant[var.tag] or variant.is_array:
                raise ua.UaStatusCodeError(ua.StatusCodes.BadTypeMismatch)
            batches.setdefault(id(served), (served, {}))[1][var.tag] = variant.Value
        for served, values in batches.values():
            try:
                stored = served.plant.write_many(values)
            except PlantPausedError as exc:
                raise ua.UaStatusCodeError(ua.StatusCodes.BadInvalidState) from exc
            except SimulationParamError as exc:
                log.info("OPC UA write refused: %s", exc)
                raise ua.UaStatusCodeError(ua.StatusCodes.BadOutOfRange) from exc
            self._notify(stored)

    # -- publishing -------------------------------------------------------------------------------
    async def update(self) -> int:
        """Publish every value that changed since the last call, fire alarm events on status edges,
        and return the number of value changes published."""
        server = self._server
        if server is None:
            return 0
        write = server.write_attribute_value
        history = self.history
        now = datetime.now(UTC)
        changed = 0
        for served in self.served:
            snap = served.plant.snapshot()  # values and time of the same scan
            values, sim_time, quality = snap["values"], snap["time"], snap["quality"]
            source = datetime.fromtimestamp(served.plant.start_ms / 1000.0 + sim_time, UTC)
            source_us = micros(source)
            last = served.last
            edges: list[tuple[str, bool]] = []
            for k, (tag, node_id, vtype, alarm, lo, hi) in enumerate(served.points):
                value = values[tag]
                code = quality.get(tag, QUALITY_GOOD)
                if last[k] == (value, code):
                    continue
                if vtype is ua.VariantType.Boolean:
                    status = GOOD
                    if alarm and served.published:
                        edges.append((tag, bool(value)))
                elif code != QUALITY_GOOD:
                    status = QUALITY_STATUS[code]
                elif lo <= value <= hi:
                    status = GOOD
                else:
                    status = UNCERTAIN_RANGE if math.isfinite(value) else BAD
                await write(node_id, ua.DataValue(ua.Variant(value, vtype), status, source, now))  # type: ignore[arg-type]
                if history is not None:
                    history.record(node_id, value, status.value, source_us)
                last[k] = (value, code)
                changed += 1
            served.published = True
            if served.time_node is not None:
                time_value = ua.DataValue(ua.Variant(sim_time, ua.VariantType.Double), GOOD, source, now)  # type: ignore[arg-type]
                await write(served.time_node, time_value)
            for tag, active in edges:
                await self._alarm(served, tag, active, source)
        self.changes += changed
        return changed

    async def _alarm(self, served: _Served, tag: str, active: bool, when: datetime) -> None:
        gen = served.events
        if gen is None:
            return
        spec = next(a for a in served.map.alarms if a.tag == tag)
        ev: Any = gen.event
        ev.Message = ua.LocalizedText(spec.message if active else f"{spec.message} cleared")
        ev.Severity = spec.severity if active else CLEARED_SEVERITY
        ev.TagName = tag
        ev.Active = active
        await gen.trigger(time_attr=when)
        self.events += 1


_MISSING = object()


async def _add_variable(parent: Node, node_id: ua.NodeId, var: VariableNode, ns: int, value: ua.Variant,
                        history: bool = False) -> None:
    """AnalogItemType (with EURange and EngineeringUnits) for analogs, BaseDataVariableType for booleans;
    with `history`, Historizing and the HistoryRead access bit set."""
    analog = var.data_type == "Double"
    item = ua.AddNodesItem()
    item.RequestedNewNodeId = node_id
    item.BrowseName = ua.QualifiedName(var.tag, ns)
    item.NodeClass = ua.NodeClass.Variable
    item.ParentNodeId = parent.nodeid
    item.ReferenceTypeId = _nid(ua.ObjectIds.HasComponent)
    item.TypeDefinition = _nid(ua.ObjectIds.AnalogItemType if analog else ua.ObjectIds.BaseDataVariableType)
    attrs = ua.VariableAttributes()
    attrs.DisplayName = ua.LocalizedText(var.tag)
    attrs.Description = ua.LocalizedText(var.description)
    attrs.DataType = _nid(ua.ObjectIds.Double if analog else ua.ObjectIds.Boolean)
    attrs.Value = value
    attrs.ValueRank = ua.ValueRank.Scalar
    access = ua.AccessLevel.CurrentRead.mask | (ua.AccessLevel.CurrentWrite.mask if var.writable else 0)
    access |= ua.AccessLevel.HistoryRead.mask if history else 0
    attrs.Historizing = history
    attrs.AccessLevel = access
    attrs.UserAccessLevel = access
    attrs.MinimumSamplingInterval = 0.0
    item.NodeAttributes = attrs
    result = (await parent.session.add_nodes([item]))[0]
    result.StatusCode.check()
    if not analog:
        return
    node = Node(parent.session, node_id)
    await node.add_property(_nid(f"{var.tag}/EURange", ns), ua.QualifiedName("EURange", 0),
                            ua.Range(var.eu_low, var.eu_high), datatype=_nid(ua.ObjectIds.Range))
    units = ua.EUInformation(NamespaceUri=UNECE_NAMESPACE, UnitId=var.unit_id, DisplayName=ua.LocalizedText(var.unit),
                             Description=ua.LocalizedText(var.unit))
    await node.add_property(_nid(f"{var.tag}/EngineeringUnits", ns), ua.QualifiedName("EngineeringUnits", 0),
                            units, datatype=_nid(ua.ObjectIds.EUInformation))


def _default_instances(plants: Sequence[LivePlant]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for p in plants:
        seen[p.name] = seen.get(p.name, 0) + 1
        out.append(p.name if seen[p.name] == 1 else f"{p.name}-{seen[p.name]}")
    return out


def _free_port(host: str) -> int:
    """asyncua publishes the endpoint URL before it binds, so port 0 is resolved here first."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
