"""lift on SWaT- and HAI-shaped tables: conventions recognised, tags mapped, units inferred from ranges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulators import prepare_scenario_fabricate, write_dataset
from simulators.lift import lift
from simulators.lift_conventions import aliases, detect, fit_conversion
from simulators.plants.registry import PLANTS


def _swat_like(rows: int = 600) -> pd.DataFrame:
    """The columns of the 2015 SWaT release at their usual magnitudes (stage 1-3 subset)."""
    rng = np.random.default_rng(0)
    t = np.arange(rows)
    times = pd.date_range("2015-12-22 16:00:00", periods=rows, freq="s")
    return pd.DataFrame({
        " Timestamp": [" " + ts.strftime("%d/%m/%Y %I:%M:%S %p").lstrip("0") for ts in times],
        "FIT101": 2.45 + 0.02 * rng.standard_normal(rows),
        "LIT101": 520 + 400 * (t % 300) / 300,  # mm, SWaT's on/off sawtooth
        "MV101": np.where(t % 300 < 150, 2, 1),
        "P101": np.full(rows, 2),
        "P102": np.ones(rows, int),
        "AIT201": 255 + rng.standard_normal(rows),  # uS/cm, NaCl conductivity
        "AIT202": 8.3 + 0.01 * rng.standard_normal(rows),
        "AIT203": 320 + rng.standard_normal(rows),
        "FIT201": 2.44 + 0.02 * rng.standard_normal(rows),
        "P201": np.ones(rows, int),
        "DPIT301": 2.2 + 0.05 * rng.standard_normal(rows),
        "FIT301": 2.2 + 0.02 * rng.standard_normal(rows),
        "LIT301": 800 + 200 * np.sin(t / 100),
        "Normal/Attack": ["Normal"] * (rows - 60) + ["Attack"] * 60,
    })


def test_swat_table_maps_to_water_in_millimetres_and_keeps_conductivity_apart(tmp_path: Path) -> None:
    path = tmp_path / "swat.csv"
    _swat_like().to_csv(path, index=False)
    world = lift(str(path))
    assert world["convention"] == "swat"
    assert world["time"]["start"] == "2015-12-22T16:00:00.000Z"  # day first, 12-hour clock
    assert world["plant"]["name"] == "water"
    tags = {t["name"]: t for t in world["tags"]}
    assert tags["LIT101"]["plant_tag"] == "LIT101"
    assert tags["LIT101"]["unit"] == "mm" and tags["LIT101"]["unit_source"] == "range"
    assert tags["LIT101"]["to_plant"] == {"unit": "m", "scale": 0.001, "offset": 0.0}
    assert tags["AIT201"]["plant_tag"] is None
    assert tags["AIT201"]["unit"] == "uS/cm" and tags["AIT201"]["quantity"] == "NaCl conductivity"
    assert tags["LIT301"]["unit"] == "mm" and tags["DPIT301"]["unit"] == "kPa"
    assert tags["P101"]["plant_tag"] == "P101"
    assert tags["P101"]["to_plant"]["offset"] == -1.0  # SWaT's 2 = running
    assert [lb["name"] for lb in world["labels"]] == ["Normal/Attack"]
    assert world["seed"]["initial_values"]["LIT101"] == pytest.approx(tags["LIT101"]["last"] / 1000)
    assert world["seed"]["initial_values"]["P101"] == 1.0


def test_our_own_swat_export_lifts_back_to_the_water_plant(tmp_path: Path) -> None:
    req = prepare_scenario_fabricate({"plant": "water", "duration": 3600, "seed": 1, "profile": "swat",
                                      "mix": [{"technique": "spoof"}]})
    write_dataset(req, tmp_path / "w.csv")
    world = lift(str(tmp_path / "w.csv"))
    assert world["convention"] == "swat" and world["plant"]["name"] == "water"
    tag_map = world["plant"]["tag_map"]
    assert tag_map["AIT204"] == "AIT201" and tag_map["P101_SPEED"] == "P101.SPEED" and tag_map["FCV102"] == "FCV102.POS"
    assert tag_map[" P201"] == "P201"  # SWaT's header spelling, with its leading space
    assert world["time"]["start"] == "2024-01-01T00:00:00.000Z"  # ' 1/1/2024 12:00:00 AM', day first
    tags = {t["name"]: t for t in world["tags"]}
    assert tags["LIT102"]["unit"] == "mm" and tags["PIT201"]["unit"] == "kPa"


def test_our_hai_export_lifts_back_with_every_tag(tmp_path: Path) -> None:
    req = prepare_scenario_fabricate({"plant": "water", "duration": 3600, "seed": 1, "profile": "hai",
                                      "mix": [{"technique": "spoof"}]})
    write_dataset(req, tmp_path / "test1.csv")
    world = lift(str(tmp_path / "test1.csv"))
    assert world["convention"] == "hai" and world["plant"]["name"] == "water"
    tag_map = world["plant"]["tag_map"]
    assert tag_map["P1_LIT01"] == "LIT101" and tag_map["P2_PP01"] == "P201" and tag_map["P1_LIC01_SP"] == "LIC101.SP"
    assert len(tag_map) == len(PLANTS["water"].tag_table().columns)
    assert {lb["name"] for lb in world["labels"]} >= {"attack", "attack_P1", "attack_P2"}


def test_hai_release_names_map_to_plant_tags(tmp_path: Path) -> None:
    """Columns as HAI 21.03 names them: P1_FT01 is a flow transmitter of loop 01 in process 1."""
    rows = 300
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "time": pd.date_range("2020-07-11 00:00:00", periods=rows, freq="s").strftime("%Y-%m-%d %H:%M:%S"),
        "P1_B2004": np.full(rows, 0.1), "P1_FT01": 5 + rng.standard_normal(rows),
        "P1_PIT01": 1.3 + 0.01 * rng.standard_normal(rows), "P1_TIT01": 35 + 0.1 * rng.standard_normal(rows),
        "P1_LIT01": 2.5 + 0.01 * rng.standard_normal(rows), "P2_SIT01": 740 + rng.standard_normal(rows),
        "attack": np.zeros(rows, int), "attack_P1": np.zeros(rows, int), "attack_P2": np.zeros(rows, int),
    })
    world = lift(frame)
    assert world["convention"] == "hai"
    assert {lb["name"] for lb in world["labels"]} == {"attack", "attack_P1", "attack_P2"}
    chemical = next(c for c in world["plant"]["candidates"] if c["plant"] == "chemical")
    water = next(c for c in world["plant"]["candidates"] if c["plant"] == "water")
    assert chemical["matched_tags"] >= 3 and water["matched_tags"] >= 2
    assert world["plant"]["name"] in ("chemical", "water")
    tags = {t["name"]: t for t in world["tags"]}
    if world["plant"]["name"] == "chemical":
        assert tags["P1_TIT01"]["plant_tag"] == "TT101"
        assert tags["P1_TIT01"]["unit"] == "degC" and tags["P1_TIT01"]["to_plant"]["offset"] == 273.15


def test_convention_rules() -> None:
    assert detect(" Timestamp", [], ["LIT101"]) == "swat"
    assert detect("timestamp", ["Normal/Attack"], ["X"]) == "swat"
    assert detect("time", ["attack"], ["P1_FT01", "P1_B2004", "P2_SIT01"]) == "hai"
    assert detect("timestamp", ["attack"], ["LIT101", "FIT101"]) == "native"
    assert aliases("P1_FT01", "hai")[:2] == ["FT101", "FIT101"]
    assert aliases("AIT201", "swat") == []
    water = PLANTS["water"].tag_table()
    lit = water.by_name["LIT101"]
    assert fit_conversion(lit, {"p01": 2.0, "p99": 3.0})["unit"] == "m"
    assert fit_conversion(lit, {"p01": 500.0, "p99": 1000.0})["unit"] == "mm"
    assert fit_conversion(lit, {"p01": -50.0, "p99": 1e7}) is None
