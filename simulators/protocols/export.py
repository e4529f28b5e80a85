"""Write a plant's Modbus register map and OPC UA node map as JSON and CSV files.

An HMI or historian is configured from these files (most HMI tag importers take CSV), and the
appliance can attach them to a live run. They depend only on the plant, so they can be produced
before any run starts:

    python -m simulators.protocols.export water ./maps
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from simulators.plants.registry import get_plant
from simulators.protocols.node_map import NodeMap
from simulators.protocols.register_map import RegisterMap


def export_maps(plant: str, directory: str | os.PathLike[str], instance: str | None = None,
                namespace_index: int = 2) -> dict[str, Path]:
    """`<plant>-modbus.json/.csv` and `<instance>-opcua.json/.csv` in `directory`; returns the paths."""
    name = get_plant(plant).name
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    regmap = RegisterMap.for_plant(name)
    nodes = NodeMap.for_plant(name, instance)
    files = {
        "modbus_json": (folder / f"{name}-modbus.json", regmap.to_json()),
        "modbus_csv": (folder / f"{name}-modbus.csv", regmap.to_csv()),
        "opcua_json": (folder / f"{nodes.instance}-opcua.json", nodes.to_json(namespace_index)),
        "opcua_csv": (folder / f"{nodes.instance}-opcua.csv", nodes.to_csv(namespace_index)),
    }
    for path, text in files.values():
        path.write_text(text, encoding="utf-8")
    return {key: path for key, (path, _) in files.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the Modbus and OPC UA maps of a plant.")
    parser.add_argument("plant")
    parser.add_argument("directory")
    parser.add_argument("--instance", default=None, help="OPC UA instance name (default: the plant name)")
    args = parser.parse_args(argv)
    for path in export_maps(args.plant, args.directory, args.instance).values():
        print(path)


if __name__ == "__main__":
    main()
