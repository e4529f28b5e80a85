"""The Modbus register map and the OPC UA node map: deterministic, complete, and exportable."""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from simulators.plants.registry import PLANTS
from simulators.protocols import export_maps
from simulators.protocols.node_map import NodeMap, unece_unit_id
from simulators.protocols.register_map import (
    COIL,
    DISCRETE_INPUT,
    FLOAT_BASE,
    HOLDING,
    INPUT,
    QUALITY_BASE,
    MapAddressError,
    MapValueError,
    RegisterMap,
    choose_scale,
)


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_every_tag_is_mapped_once_per_encoding(plant: str) -> None:
    regmap = RegisterMap.for_plant(plant)
    table = PLANTS[plant].tag_table()
    assert regmap.to_json() == RegisterMap.for_plant(plant).to_json()  # deterministic
    for tag in table.columns:
        points = [p for p in regmap.points if p.tag == tag.name]
        if tag.is_bool:
            assert [p.table for p in points] == [COIL if tag.writable else DISCRETE_INPUT]
        else:
            assert [p.encoding for p in points][1] == "float32" and len(points) == 2
            assert {p.table for p in points} == {HOLDING if tag.writable else INPUT}
            scaled, flt = points
            assert flt.address == FLOAT_BASE + 2 * scaled.address
            lo, hi = scaled.raw_limits
            assert lo <= tag.low * scaled.scale and tag.high * scaled.scale <= hi  # the whole range fits
            assert scaled.encoding == ("int16" if tag.low < 0 else "uint16")
    for layout in regmap.tables.values():  # no address holds two things
        addresses = [a for p in layout.points for a in range(p.address, p.address + p.count)]
        assert len(addresses) == len(set(addresses))


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_every_sensor_has_a_quality_register(plant: str) -> None:
    """The quality block mirrors the sensors' scaled block: the code of the reading at input
    register k is at QUALITY_BASE + k, a uint16 0..3 named after the dataset column."""
    regmap = RegisterMap.for_plant(plant)
    sensors = PLANTS[plant].tag_table().sensors
    assert [p.tag for p in regmap.quality_points] == [f"quality:{t.name}" for t in sensors]
    for tag in sensors:
        quality = regmap.point(f"quality:{tag.name}")
        assert quality.table == INPUT and quality.address == QUALITY_BASE + regmap.point(tag.name).address
        assert (quality.encoding, quality.scale, quality.low, quality.high, quality.writable) == ("uint16", 1.0, 0, 3,
                                                                                                   False)
    assert FLOAT_BASE + 2 * len(regmap.tables[INPUT].points) < QUALITY_BASE  # the blocks never overlap
    doc = json.loads(regmap.to_json())
    assert doc["quality_base"] == QUALITY_BASE and "3 bad" in doc["quality_codes"]
    rows = [r for r in csv.DictReader(io.StringIO(regmap.to_csv())) if r["role"] == "quality"]
    first = rows[0]
    assert len(rows) == len(sensors) and first["tag"] == f"quality:{sensors[0].name}"
    assert (first["table"], first["address"], first["reference"]) == (INPUT, str(QUALITY_BASE), "302001")
    words = regmap.read_registers(INPUT, QUALITY_BASE, len(sensors),
                                  {p.tag: j % 4 for j, p in enumerate(regmap.quality_points)})
    assert words == [j % 4 for j in range(len(sensors))]
    with pytest.raises(MapAddressError):
        regmap.read_registers(HOLDING, QUALITY_BASE, 1, {})  # only the input registers have the block


def test_scaling_and_word_order() -> None:
    assert choose_scale(0, 5.5) == ("uint16", 10000.0)
    assert choose_scale(-40, 150) == ("int16", 100.0)
    assert choose_scale(0, 1e8) == ("uint16", 1e-4)
    regmap = RegisterMap.for_plant("water")
    sp = regmap.point("LIC101.SP")
    assert sp.table == HOLDING and sp.address == 0 and sp.reference == "400001"
    assert sp.encode(3.6) == (36000,) and sp.decode([36000]) == pytest.approx(3.6)
    flt = regmap.point("LIC101.SP", "float32")
    assert flt.reference == "401001"
    assert flt.encode(3.6) == (0x4066, 0x6666)  # ABCD: high word first
    assert flt.decode([0x4066, 0x6666]) == 3.6  # float32 noise trimmed to 7 digits
    tap = RegisterMap.for_plant("power").point("OLTC.TAP")
    assert tap.encode(-3) == ((-3000) & 0xFFFF,) and tap.decode([(-3000) & 0xFFFF]) == -3.0
    assert tap.encode(1e9) == (32767,)  # saturates


def test_codec_reads_spans_and_rejects_gaps_and_half_floats() -> None:
    regmap = RegisterMap.for_plant("chemical")
    values = {t: 1.0 for t in PLANTS["chemical"].tag_table().names}
    n_ir = (len(regmap.tables[INPUT].points) - len(regmap.quality_points)) // 2
    words = regmap.read_registers(INPUT, FLOAT_BASE + 1, 3, values)  # starts on a low word
    assert words == [0x0000, 0x3F80, 0x0000]
    with pytest.raises(MapAddressError):
        regmap.read_registers(INPUT, n_ir - 1, 2, values)  # runs into the gap
    with pytest.raises(MapAddressError):
        regmap.read_bits(COIL, 0, 99, values)
    with pytest.raises(MapAddressError):
        regmap.decode_registers(HOLDING, FLOAT_BASE + 1, [0, 0])  # splits a pair
    with pytest.raises(MapValueError):
        regmap.decode_registers(HOLDING, FLOAT_BASE, [0x7FC0, 0])  # NaN
    sp = regmap.point("TIC101.SP")
    assert regmap.decode_registers(HOLDING, sp.address, [35000]) == {"TIC101.SP": 350.0}


def test_exports_parse() -> None:
    regmap = RegisterMap.for_plant("power")
    doc = json.loads(regmap.to_json())
    assert doc["float_base"] == FLOAT_BASE and "ABCD" in doc["float_word_order"]
    assert len(doc["points"]) == len(regmap.points)
    rows = list(csv.DictReader(io.StringIO(regmap.to_csv())))
    assert len(rows) == len(regmap.points)
    row = next(r for r in rows if r["tag"] == "AVR.SP" and r["encoding"] != "float32")
    assert row["table"] == HOLDING and row["scale"] == "1000" and row["raw_high"] == "65535"
    nodes = NodeMap.for_plant("power")
    ndoc = json.loads(nodes.to_json())
    assert ndoc["namespace_uri"] == "urn:sealforge:sim:power"
    assert len(list(csv.DictReader(io.StringIO(nodes.to_csv())))) == len(PLANTS["power"].TAGS)


def test_node_map_folders_methods_alarms() -> None:
    nodes = NodeMap.for_plant("water")
    assert nodes.by_tag["P101.RUN"].folder == "P101" and nodes.by_tag["LIC101.SP"].folder == "LIC101"
    assert nodes.by_tag["LIC101.SP"].access == "CurrentRead|CurrentWrite"
    assert nodes.by_tag["LIT101"].access == "CurrentRead" and nodes.by_tag["LIT101"].data_type == "Double"
    assert nodes.by_tag["LIT101"].unit_id == unece_unit_id("m") == 0x4D5452
    methods = {(m.folder, m.name): (m.tag, m.value) for m in nodes.methods}
    assert methods[("P101", "Start")] == ("P101.RUN", True) and methods[("P101", "Stop")] == ("P101.RUN", False)
    assert methods[("RESET", "Reset")] == ("RESET", True)
    assert {a.tag for a in nodes.alarms} >= {"LIT101.HI", "P101.TRIP"}
    power = NodeMap.for_plant("power")
    assert {(m.folder, m.name) for m in power.methods} >= {("CB1", "On"), ("CB1", "Off")}
    assert unece_unit_id("step") == -1


def test_export_writes_four_files(tmp_path: Path) -> None:
    paths = export_maps("reactor", tmp_path / "maps", instance="unit-2")
    assert sorted(p.name for p in paths.values()) == ["chemical-modbus.csv", "chemical-modbus.json",
                                                      "unit-2-opcua.csv", "unit-2-opcua.json"]
    doc = json.loads(paths["opcua_json"].read_text())
    assert doc["namespace_uri"] == "urn:sealforge:sim:unit-2"
    assert doc["variables"][0]["browse_path"] == "/Objects/2:unit-2/2:TT101/2:TT101"


def test_maps_load_without_the_protocol_libraries() -> None:
    code = ("import sys; from simulators.protocols import RegisterMap, NodeMap; RegisterMap.for_plant('water'); "
            "assert 'pymodbus' not in sys.modules and 'asyncua' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_fast_read_path_matches_point_encode(plant: str) -> None:
    regmap = RegisterMap.for_plant(plant)
    table = PLANTS[plant].tag_table()
    rng = random.Random(7)
    odd = [float("nan"), float("inf"), -float("inf"), 1e39, -1e39, 0.0, 3.6, -7.25]
    for _ in range(20):
        values: dict[str, float | bool] = {
            t.name: (rng.random() < 0.5) if t.is_bool else rng.choice([*odd, rng.uniform(-1e6, 1e6)])
            for t in table.columns}
        values.update({p.tag: rng.randint(0, 3) for p in regmap.quality_points})
        for name in (HOLDING, INPUT):
            layout = regmap.tables[name]
            for address in range(layout.size):
                if layout.slots[address] is None:
                    continue
                count = 3 if address + 3 <= layout.size and None not in layout.slots[address : address + 3] else 1
                expected: list[int] = []
                for p, w in layout.span(address, count):
                    expected.append(p.encode(values[p.tag])[w])
                assert regmap.read_registers(name, address, count, values) == expected, (name, address)
