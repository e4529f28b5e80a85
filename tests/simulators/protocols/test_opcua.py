"""OPC UA against a live plant with the real asyncua client over loopback (security None, with the
anonymous session given the operator role as a lab bench would: security itself is tested in
test_opcua_security)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from asyncua import Client, Node, ua

from simulators import LivePlant
from simulators.protocols.opcua import ALARM_EVENT_TYPE, TYPES_NAMESPACE, OpcUaPlantServer
from simulators.protocols.opcua_auth import OpcUaSecurity, Role
from tests.simulators.protocols.conftest import LoopThread, water_plant

Served = tuple[LivePlant, OpcUaPlantServer, LoopThread]


@pytest.fixture(scope="module")
def served(server_loop: LoopThread) -> Iterator[Served]:
    plant = water_plant()
    writes: list[tuple[dict[str, Any], str]] = []
    bench = OpcUaSecurity(allow_none=True, sign_encrypt=False, anonymous_role=Role.OPERATOR)
    server = OpcUaPlantServer(plant, port=0, security=bench,
                              on_write=lambda values, src: writes.append((dict(values), src)))
    server_loop.run(server.start())
    server.writes = writes  # type: ignore[attr-defined]
    yield plant, server, server_loop
    server_loop.run(server.stop())


def nid(name: str | int, ns: int) -> ua.NodeId:
    return ua.NodeId(name, ns)  # type: ignore[arg-type]


class Collector:
    def __init__(self) -> None:
        self.changes: list[tuple[str, Any]] = []
        self.events: list[Any] = []

    def datachange_notification(self, node: Node, value: Any, data: Any) -> None:
        self.changes.append((str(node.nodeid.Identifier), value))

    def event_notification(self, event: Any) -> None:
        self.events.append(event)


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def test_browse_address_space(served: Served) -> None:
    plant, server, _ = served
    nodes = server.node_maps[0]

    async def go() -> None:
        async with Client(server.endpoint) as client:
            ns = await client.get_namespace_index("urn:sealforge:sim:water")
            assert ns == server.namespace_index() == 2
            obj = await client.nodes.objects.get_child(f"{ns}:water")
            children = {(await c.read_browse_name()).Name for c in await obj.get_children()}
            assert children == {"SimulationTime", *nodes.folders}
            folder = await obj.get_child(f"{ns}:P101")
            names = {(await c.read_browse_name()).Name for c in await folder.get_children()}
            assert names == {"P101", "P101.DUTY", "P101.RUN", "P101.SPEED", "P101.TRIP", "Start", "Stop"}
            values = plant.read()
            for var in nodes.variables:
                node = await obj.get_child([f"{ns}:{var.folder}", f"{ns}:{var.tag}"])
                assert node.nodeid == nid(var.tag, ns)
                dv = await node.read_data_value()
                assert dv.Value is not None and dv.StatusCode is not None
                assert dv.Value.Value == values[var.tag] and dv.StatusCode.is_good()
                access = await node.read_attribute(ua.AttributeIds.AccessLevel)
                assert access.Value is not None
                assert bool(access.Value.Value & ua.AccessLevel.CurrentWrite.mask) == var.writable
                dtype = await node.read_data_type()
                assert dtype == nid(ua.ObjectIds.Double if var.data_type == "Double" else ua.ObjectIds.Boolean, 0)
                if var.data_type == "Double":
                    eu_range = await (await node.get_child("0:EURange")).read_value()
                    assert (eu_range.Low, eu_range.High) == (var.eu_low, var.eu_high)
                    units = await (await node.get_child("0:EngineeringUnits")).read_value()
                    assert units.DisplayName.Text == var.unit and units.UnitId == var.unit_id

    asyncio.run(go())


def test_subscription_receives_changes(served: Served) -> None:
    plant, server, loop = served

    async def go() -> None:
        async with Client(server.endpoint) as client:
            ns = server.namespace_index()
            sink = Collector()
            sub = await client.create_subscription(50, sink)
            await sub.subscribe_data_change([client.get_node(nid("FIT101", ns)), client.get_node(nid("LIT101", ns))])
            await wait_for(lambda: len(sink.changes) >= 2)  # initial values
            plant.write("P101.RUN", False)
            plant.step(2)
            loop.run(server.update())
            await wait_for(lambda: ("FIT101", 0.0) in sink.changes)
            seen = len(sink.changes)
            plant.write("P101.RUN", True)
            plant.step(2)
            loop.run(server.update())
            await wait_for(lambda: any(t == "FIT101" and v > 0 for t, v in sink.changes[seen:]))
            await sub.delete()

    asyncio.run(go())


def test_writes_reach_the_plant_and_bad_ones_are_refused(served: Served) -> None:
    plant, server, _ = served

    async def go() -> None:
        async with Client(server.endpoint) as client:
            ns = server.namespace_index()
            sp = client.get_node(nid("LIC101.SP", ns))
            await sp.write_value(ua.DataValue(ua.Variant(3.4, ua.VariantType.Double)))
            assert plant.read_tag("LIC101.SP") == 3.4 and await sp.read_value() == 3.4
            assert server.writes[-1] == ({"LIC101.SP": 3.4}, "opcua")  # type: ignore[attr-defined]
            with pytest.raises(ua.uaerrors.BadOutOfRange):
                await sp.write_value(ua.DataValue(ua.Variant(9.0, ua.VariantType.Double)))
            with pytest.raises(ua.uaerrors.BadTypeMismatch):
                await sp.write_value(ua.DataValue(ua.Variant(3, ua.VariantType.Int32)))
            with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                await client.get_node(nid("LIT101", ns)).write_value(ua.DataValue(ua.Variant(1.0,
                                                                                             ua.VariantType.Double)))
            assert plant.read_tag("LIC101.SP") == 3.4 and await sp.read_value() == 3.4
            auto = client.get_node(nid("LIC102.AUTO", ns))
            await auto.write_value(ua.DataValue(ua.Variant(False, ua.VariantType.Boolean)))
            assert plant.read_tag("LIC102.AUTO") is False
            await auto.write_value(ua.DataValue(ua.Variant(True, ua.VariantType.Boolean)))
            plant.write("LIC101.SP", 3.0)

    asyncio.run(go())


def test_methods_write_commands(served: Served) -> None:
    plant, server, _ = served

    async def go() -> None:
        async with Client(server.endpoint) as client:
            ns = server.namespace_index()
            pump = client.get_node(nid("water/P201", ns))
            await pump.call_method(f"{ns}:Stop")
            assert plant.read_tag("P201.RUN") is False
            await pump.call_method(f"{ns}:Start")
            assert plant.read_tag("P201.RUN") is True
            await client.get_node(nid("water/RESET", ns)).call_method(f"{ns}:Reset")
            assert plant.read_tag("RESET") is True
            plant.step()
            assert plant.read_tag("RESET") is False

    asyncio.run(go())


def test_alarm_events(served: Served) -> None:
    plant, server, loop = served

    async def go() -> None:
        async with Client(server.endpoint) as client:
            ns = server.namespace_index()
            tns = await client.get_namespace_index(TYPES_NAMESPACE)
            sink = Collector()
            sub = await client.create_subscription(50, sink)
            await sub.subscribe_events(client.get_node(nid("water", ns)), nid(ALARM_EVENT_TYPE, tns))
            plant.write("LIC101.SP", 0.5)
            for _ in range(60):
                plant.advance(60)
                loop.run(server.update())
                if plant.read_tag("LIT101.LO"):
                    break
            assert plant.read_tag("LIT101.LO")
            await wait_for(lambda: any(e.TagName == "LIT101.LO" for e in sink.events))
            event = next(e for e in sink.events if e.TagName == "LIT101.LO")
            assert event.Active is True and event.Severity == 500 and "low level" in event.Message.Text
            plant.write("LIC101.SP", 3.0)
            for _ in range(60):
                plant.advance(60)
                loop.run(server.update())
                if not plant.read_tag("LIT101.LO"):
                    break
            await wait_for(lambda: any(e.TagName == "LIT101.LO" and not e.Active for e in sink.events))
            await sub.delete()

    asyncio.run(go())
