"""Two OPC UA servers in one process share the prepared standard address space but never a node:
what one server changes in a standard node, the other does not see, and clients browse the
standard nodes of both as usual."""

from __future__ import annotations

import asyncio

from asyncua import Client, ua

from simulators.protocols.opcua import OpcUaPlantServer
from tests.simulators.protocols.conftest import water_plant

PRODUCT_NAME = ua.NodeId(ua.ObjectIds.Server_ServerStatus_BuildInfo_ProductName)


async def product_name(endpoint: str) -> str:
    async with Client(endpoint) as client:
        server_object = await client.nodes.objects.get_child("0:Server")
        assert (await server_object.read_browse_name()).Name == "Server"
        return str(await client.get_node(PRODUCT_NAME).read_value())


def test_servers_in_one_process_do_not_share_standard_nodes() -> None:
    async def main() -> tuple[str, str]:
        first, second = OpcUaPlantServer(water_plant(), port=0), OpcUaPlantServer(water_plant(), port=0)
        await first.start()
        await second.start()
        try:
            assert first._server is not None
            await first._server.get_node(PRODUCT_NAME).write_value("changed on the first server only")
            return await product_name(first.endpoint), await product_name(second.endpoint)
        finally:
            await first.stop()
            await second.stop()

    on_first, on_second = asyncio.run(main())
    assert on_first == "changed on the first server only" and on_second != on_first
