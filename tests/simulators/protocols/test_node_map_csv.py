"""The OPC UA node map's CSV gives full NodeIds, ready to paste into a client."""

from __future__ import annotations

import csv
import io

from simulators.protocols.node_map import NodeMap


def test_csv_node_ids_carry_the_namespace() -> None:
    rows = list(csv.DictReader(io.StringIO(NodeMap.for_plant("water").to_csv(ns=3))))
    by_tag = {r["tag"]: r for r in rows}
    assert by_tag["LIT101"]["node_id"] == "ns=3;s=LIT101"
    assert all(r["node_id"].startswith("ns=3;s=") for r in rows)
