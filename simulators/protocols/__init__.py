"""Live SCADA runs: simulated plants served to real ICS clients over Modbus TCP and OPC UA.

* `RegisterMap` / `NodeMap` (`export_maps`): where each tag lives on each protocol, as JSON and CSV;
* `ModbusPlantServer`, `OpcUaPlantServer` (with `OpcUaSecurity`): asyncio servers over a `LivePlant`;
* `LiveRun` (its settings in `LiveRunConfig`): a plant stepped in real time with both servers, a
  Parquet recording, run-time attack injection and per-scan callbacks, made to run in a worker process.

Only `modbus` imports pymodbus and only `opcua` imports asyncua. Names are imported on first use,
so `from simulators.protocols import RegisterMap` loads neither library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulators.protocols.export import export_maps
    from simulators.protocols.live_run import LiveRun, LiveRunConfig
    from simulators.protocols.modbus import ModbusPlantServer
    from simulators.protocols.node_map import NodeMap
    from simulators.protocols.opcua import OpcUaPlantServer
    from simulators.protocols.opcua_auth import OpcUaSecurity
    from simulators.protocols.register_map import FLOAT_BASE, RegisterMap

_EXPORTS = {
    "RegisterMap": "register_map",
    "FLOAT_BASE": "register_map",
    "NodeMap": "node_map",
    "export_maps": "export",
    "ModbusPlantServer": "modbus",
    "OpcUaPlantServer": "opcua",
    "OpcUaSecurity": "opcua_auth",
    "LiveRun": "live_run",
    "LiveRunConfig": "live_run",
}

__all__ = ["FLOAT_BASE", "LiveRun", "LiveRunConfig", "ModbusPlantServer", "NodeMap", "OpcUaPlantServer",
           "OpcUaSecurity", "RegisterMap", "export_maps"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
