"""The OPC UA node map of a plant: folders, variables, methods and alarm events, derived from its tags.

Like the Modbus map it depends only on the tag table, so a client configuration stays valid across
runs. Layout, in the plant's own namespace (`urn:sealforge:sim:<instance>`, index 2 when the server
serves one plant):

    Objects/<instance>                  object, event notifier for the alarm events
        SimulationTime                  Double, s since the run started
        <device>/                       one folder per tag-name prefix (the part before the first '.'):
            <tag>                       LIC101/ holds LIC101.SP and LIC101.AUTO; P101/ holds P101,
                                        P101.RUN, P101.SPEED and P101.TRIP
            <method>                    Start/Stop for `*.RUN`, On/Off for other commands, and one
                                        method (e.g. Reset) for a momentary command

Node ids are strings: the tag name for a variable (`ns=2;s=LIC101.SP`), `<instance>/<device>` for
a folder, `<instance>/<device>/<method>` for a method. Analog tags are Double AnalogItemType
variables with EURange and EngineeringUnits (UNECE codes where the unit has one); booleans are
Boolean. Writable tags carry AccessLevel CurrentRead|CurrentWrite, all others CurrentRead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from simulators.core.tags import TagSpec, TagTable
from simulators.plants.registry import get_plant
from simulators.protocols.register_map import rows_to_csv

FORMAT = "sealforge.opcua-map/1"
NAMESPACE_PREFIX = "urn:sealforge:sim:"
UNECE_NAMESPACE = "http://www.opcfoundation.org/UA/units/un/cefact"
UNECE_CODES: Mapping[str, str] = {
    "m": "MTR", "m3": "MTQ", "m3/h": "MQH", "bar": "BAR", "mg/L": "M1", "%": "P1", "K": "KEL",
    "kV": "KVT", "A": "AMP", "MW": "MAW", "degC": "CEL", "MWh": "MWH", "s": "SEC",
}
CSV_FIELDS = ("node_id", "browse_path", "tag", "folder", "data_type", "unit", "unit_id", "eu_low", "eu_high",
              "access", "role", "description")


def unece_unit_id(unit: str) -> int:
    """OPC UA EUInformation.UnitId of a UNECE Rec. 20 common code; -1 when the unit has none here."""
    code = UNECE_CODES.get(unit)
    if code is None:
        return -1
    out = 0
    for ch in code:
        out = (out << 8) | ord(ch)
    return out


def device_of(tag: str) -> str:
    return tag.split(".", 1)[0]


@dataclass(frozen=True)
class VariableNode:
    tag: str
    node_id: str
    browse_path: str
    folder: str
    data_type: str  # Double | Boolean
    unit: str
    unit_id: int
    eu_low: float
    eu_high: float
    access: str  # CurrentRead | CurrentRead|CurrentWrite
    role: str
    description: str

    @property
    def writable(self) -> bool:
        return "CurrentWrite" in self.access


@dataclass(frozen=True)
class MethodNode:
    name: str
    node_id: str
    browse_path: str
    folder: str
    tag: str
    value: bool  # what the call writes to `tag`
    description: str


@dataclass(frozen=True)
class AlarmEvent:
    tag: str
    severity: int
    message: str


class NodeMap:
    """Variables, methods and alarm events of one plant instance."""

    def __init__(self, plant: str, table: TagTable, instance: str | None = None) -> None:
        self.plant = plant
        self.instance = instance or plant
        self.namespace_uri = NAMESPACE_PREFIX + self.instance
        root = f"/Objects/{{ns}}:{self.instance}"
        folders: list[str] = []
        variables: list[VariableNode] = []
        for tag in table.columns:
            folder = device_of(tag.name)
            if folder not in folders:
                folders.append(folder)
            variables.append(_variable(tag, folder, f"{root}/{{ns}}:{folder}/{{ns}}:{tag.name}"))
        self.folders = tuple(folders)
        self.variables = tuple(variables)
        self.methods = tuple(m for tag in table.columns if tag.role == "command"
                             for m in _methods(tag, self.instance, root))
        self.alarms = tuple(AlarmEvent(t.name, 700 if "TRIP" in t.name else 500, t.description)
                            for t in table.columns if t.role == "status" and t.is_bool)
        self.by_tag = {v.tag: v for v in self.variables}

    @classmethod
    def for_plant(cls, plant: str, instance: str | None = None) -> NodeMap:
        plant_cls = get_plant(plant)
        return cls(plant_cls.name, plant_cls.tag_table(), instance)

    def folder_id(self, folder: str) -> str:
        return f"{self.instance}/{folder}"

    @property
    def time_node_id(self) -> str:
        return f"{self.instance}/SimulationTime"

    def to_dict(self, ns: int = 2) -> dict[str, Any]:
        """The map with browse paths resolved for namespace index `ns`."""
        return {
            "format": FORMAT,
            "plant": self.plant,
            "instance": self.instance,
            "namespace_uri": self.namespace_uri,
            "namespace_index": ns,
            "node_id_form": f"ns={ns};s=<node_id> (or nsu={self.namespace_uri};s=<node_id>)",
            "object": {"node_id": self.instance, "browse_path": f"/Objects/{ns}:{self.instance}",
                       "event_notifier": True},
            "simulation_time": {"node_id": self.time_node_id, "data_type": "Double", "unit": "s"},
            "folders": [{"name": f, "node_id": self.folder_id(f)} for f in self.folders],
            "variables": [_resolve(asdict(v), ns) for v in self.variables],
            "methods": [_resolve(asdict(m), ns) for m in self.methods],
            "alarm_events": {
                "event_type": "AlarmEventType (subtype of BaseEventType) with fields TagName, Active",
                "emitted_by": self.instance,
                "fired": "when a status tag goes true (Active=true) and when it clears (Active=false, Severity 100)",
                "alarms": [asdict(a) for a in self.alarms],
            },
        }

    def to_json(self, ns: int = 2) -> str:
        return json.dumps(self.to_dict(ns), indent=2, ensure_ascii=False) + "\n"

    def to_csv(self, ns: int = 2) -> str:
        return rows_to_csv(CSV_FIELDS, (_resolve(asdict(v), ns) for v in self.variables))


def _resolve(row: dict[str, Any], ns: int) -> dict[str, Any]:
    """A CSV row as a client pastes it: the full NodeId (`ns=2;s=LIT101`), not the bare string id."""
    row["node_id"] = f"ns={ns};s={row['node_id']}"
    row["browse_path"] = row["browse_path"].replace("{ns}", str(ns))
    return row


def _variable(tag: TagSpec, folder: str, path: str) -> VariableNode:
    return VariableNode(
        tag=tag.name,
        node_id=tag.name,
        browse_path=path,
        folder=folder,
        data_type="Boolean" if tag.is_bool else "Double",
        unit=tag.unit,
        unit_id=-1 if tag.is_bool else unece_unit_id(tag.unit),
        eu_low=tag.low,
        eu_high=tag.high,
        access="CurrentRead|CurrentWrite" if tag.writable else "CurrentRead",
        role=tag.role,
        description=tag.description,
    )


def _methods(tag: TagSpec, instance: str, root: str) -> list[MethodNode]:
    folder = device_of(tag.name)
    if tag.momentary:
        pairs = [(folder.title().replace("_", ""), True, f"Pulse {tag.name}: {tag.description}")]
    elif tag.name.endswith(".RUN"):
        pairs = [("Start", True, f"{tag.name} := true ({tag.description})"),
                 ("Stop", False, f"{tag.name} := false ({tag.description})")]
    else:
        pairs = [("On", True, f"{tag.name} := true ({tag.description})"),
                 ("Off", False, f"{tag.name} := false ({tag.description})")]
    return [
        MethodNode(name, f"{instance}/{folder}/{name}", f"{root}/{{ns}}:{folder}/{{ns}}:{name}", folder, tag.name,
                   value, desc)
        for name, value, desc in pairs
    ]
