"""A run's point map as an engineer needs it to point a client at the plant: every Modbus point
(function codes, PDU address and Modicon number, type, word order, scaling, unit, R/RW) and every
OPC UA node (NodeId, type, unit, EURange, access), and for each block of consecutive registers the
mbpoll command line that reads it (with ``-0``: the PDU addresses shown, not 1-based numbers, and
``-B`` for the big-endian word order of the floats).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from appliance.services import scada

FUNCTIONS = {
    "coil": ("01", "05/15", "0"),
    "discrete_input": ("02", "", "1"),
    "input_register": ("04", "", "3"),
    "holding_register": ("03", "06/16", "4"),
}
"""Table: read function code, write function codes, mbpoll -t type."""
PREFIX = {"coil": "0", "discrete_input": "1", "input_register": "3", "holding_register": "4"}
MODBUS_COLUMNS = (
    "tag",
    "table",
    "read_fc",
    "write_fc",
    "address",
    "number",
    "reference",
    "type",
    "registers",
    "word_order",
    "scale",
    "offset",
    "unit",
    "low",
    "high",
    "access",
    "description",
)
OPCUA_COLUMNS = ("tag", "node_id", "browse_path", "data_type", "unit", "eu_low", "eu_high", "access", "description")


def _number(table: str, address: int) -> str:
    """The 5-digit Modicon number (4xxxx) where it fits, else the 6-digit one."""
    one_based = address + 1
    return f"{PREFIX[table]}{one_based:04d}" if one_based <= 9999 else f"{PREFIX[table]}{one_based:05d}"


def _modbus_points(modbus: dict[str, Any], writes: bool) -> list[dict[str, Any]]:
    points = []
    for p in modbus["points"]:
        read_fc, write_fc, _ = FUNCTIONS[p["table"]]
        rw = p["writable"] and writes and bool(write_fc)
        points.append(
            {
                "tag": p["tag"],
                "table": p["table"],
                "read_fc": read_fc,
                "write_fc": write_fc if rw else "",
                "address": p["address"],
                "number": _number(p["table"], p["address"]),
                "reference": p["reference"],
                "type": p["encoding"],
                "registers": p["count"],
                "word_order": "ABCD (high word first)" if p["encoding"] == "float32" else "",
                "scale": p["scale"],
                "offset": p["offset"],
                "unit": p["unit"],
                "low": p["low"],
                "high": p["high"],
                "access": "RW" if rw else "R",
                "description": p["description"],
            }
        )
    return points


def _blocks(points: list[dict[str, Any]], host: str, port: int, unit_id: int) -> list[dict[str, Any]]:
    """Runs of consecutive points of one table and one width, each with its mbpoll line."""
    blocks: list[dict[str, Any]] = []
    for p in sorted(points, key=lambda p: (p["table"], p["address"])):
        width = p["registers"]
        last = blocks[-1] if blocks else None
        if last and last["table"] == p["table"] and last["width"] == width and last["next"] == p["address"]:
            last["count"] += 1
            last["next"] += width
            last["tags"].append(p["tag"])
            continue
        blocks.append(
            {
                "table": p["table"],
                "width": width,
                "start": p["address"],
                "count": 1,
                "next": p["address"] + width,
                "tags": [p["tag"]],
                "float": p["type"] == "float32",
            }
        )
    for b in blocks:
        kind = FUNCTIONS[b["table"]][2] + (":float" if b["float"] else "")
        order = " -B" if b["float"] else ""
        b["mbpoll"] = (
            f"mbpoll -m tcp -a {unit_id} -p {port} -0 -t {kind}{order} -r {b['start']} -c {b['count']} -1 {host}"
        )
        b["first"] = b["tags"][0]
        b["last"] = b["tags"][-1]
        del b["next"]
    return blocks


def point_map(conn: Any, tenant_id: str, run_id: str) -> dict[str, Any]:
    """The run's points and nodes with its connection details (JSON for the page and the download)."""
    run = scada.view(conn, scada.require(conn, tenant_id, run_id))
    maps = scada.maps(run["plant"])
    out: dict[str, Any] = {"run_id": run_id, "plant": run["plant"], "modbus": None, "opcua": None}
    if run["modbus"]:
        mb = run["modbus"]
        host = "<appliance address>" if mb["host"] == "0.0.0.0" else mb["host"]
        points = _modbus_points(maps["modbus"], mb["writes"])
        out["modbus"] = {
            **mb,
            "addressing": maps["modbus"]["addressing"],
            "float_word_order": maps["modbus"]["float_word_order"],
            "scaling": maps["modbus"]["scaling"],
            "points": points,
            "blocks": _blocks(points, host, mb["port"], mb["unit_id"]),
        }
    if run["opcua"]:
        ns = maps["opcua"]["namespace_index"]
        nodes = [
            {
                "tag": v["tag"],
                "node_id": f"ns={ns};s={v['node_id']}",
                "browse_path": v["browse_path"],
                "data_type": v["data_type"],
                "unit": v["unit"],
                "eu_low": v["eu_low"],
                "eu_high": v["eu_high"],
                "access": "RW" if "CurrentWrite" in v["access"] else "R",
                "description": v["description"],
            }
            for v in maps["opcua"]["variables"]
        ]
        out["opcua"] = {**run["opcua"], "namespace_uri": maps["opcua"]["namespace_uri"], "nodes": nodes}
    return out


def to_csv(mapped: dict[str, Any], protocol: str) -> str:
    """One protocol's rows as CSV (an empty file with its header when the run does not serve it)."""
    columns = MODBUS_COLUMNS if protocol == "modbus" else OPCUA_COLUMNS
    section = mapped.get(protocol) or {}
    rows = section.get("points" if protocol == "modbus" else "nodes", [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else row[c] for c in columns])
    return out.getvalue()
