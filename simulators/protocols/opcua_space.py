"""The OPC UA standard address space, built once per process and copied per server on demand.

asyncua builds the standard namespace (about 6,000 nodes) from generated code at every
`Server.init()`: 1.8-2.5 s of CPU on the appliance's class of machine, which was most of the time
between a live run's submit and its OPC UA endpoint accepting connections. Here that space is
built once per process (a `sim` worker calls `prepare()` in the background when it starts) and
kept as one pickled copy per node. Each server gets an `_OnDemandNodes` map that unpickles a node
the first time the server touches it, so servers never share a mutable node and a start touches
only the few hundred nodes it needs. This is asyncua's own "shelf" mechanism
(`AddressSpace.load_aspace_shelf`, lazy loading from a `shelve` file), with the shelf held in
memory: no file in the state dir, nothing unpickled that this process did not pickle itself.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator, MutableMapping
from typing import Any

from asyncua import Server, ua
from asyncua.server.address_space import AddressSpace, NodeData, NodeManagementService
from asyncua.server.internal_server import InternalServer
from asyncua.server.user_managers import UserManager

_built: dict[ua.NodeId, bytes] | None = None
_lock = threading.Lock()


def _standard_nodes() -> dict[ua.NodeId, bytes]:
    global _built
    with _lock:
        if _built is None:
            from asyncua.server.standard_address_space import standard_address_space

            space = AddressSpace()
            standard_address_space.fill_address_space(NodeManagementService(space))
            _built = {nid: pickle.dumps(node, pickle.HIGHEST_PROTOCOL) for nid, node in space._nodes.items()}
        return _built


def prepare() -> None:
    """Build the standard space now (a worker calls this in the background when it starts), so the
    first server starts as fast as the later ones."""
    _standard_nodes()


class _OnDemandNodes(MutableMapping[ua.NodeId, NodeData]):
    """A server's nodes: its own ones, plus standard ones unpickled on first access (then its own)."""

    def __init__(self, source: dict[ua.NodeId, bytes]) -> None:
        self.source = source
        self.cache: dict[ua.NodeId, NodeData] = {}
        self.deleted: set[ua.NodeId] = set()

    def __getitem__(self, key: ua.NodeId) -> NodeData:
        try:
            return self.cache[key]
        except KeyError:
            if key in self.deleted:
                raise
            node: NodeData = pickle.loads(self.source[key])
            self.cache[key] = node
            return node

    def __setitem__(self, key: ua.NodeId, value: NodeData) -> None:
        self.deleted.discard(key)
        self.cache[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self.cache or (key not in self.deleted and key in self.source)

    def __delitem__(self, key: ua.NodeId) -> None:
        if key not in self:
            raise KeyError(key)
        self.cache.pop(key, None)
        if key in self.source:
            self.deleted.add(key)

    def __iter__(self) -> Iterator[ua.NodeId]:
        return iter(self.cache)

    def __len__(self) -> int:
        return len(self.cache)


class _FastInternalServer(InternalServer):
    async def load_standard_address_space(self, shelf_file: object = None) -> None:
        self.aspace._nodes = _OnDemandNodes(_standard_nodes())  # type: ignore[assignment]


def new_server(user_manager: UserManager | None = None, cls: type[Server] = Server, **kwargs: Any) -> Server:
    """An asyncua `Server` (or subclass `cls`, given `kwargs`) whose `init()` takes the prepared
    standard space instead of building it."""
    return cls(iserver=_FastInternalServer(user_manager=user_manager), **kwargs)
