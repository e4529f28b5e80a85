"""Lifting historian telemetry into a typed world state and a matching plant."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from simulators import SimulationParamError, lift, prepare_simulate, simulate, write_dataset


@pytest.fixture(scope="module")
def water() -> pa.Table:
    return simulate({"plant": "water", "duration": 1800, "seed": 2, "attacks": [
        {"technique": "T0831", "start": 600, "duration": 60, "targets": ["P101.SPEED"], "magnitude": 0}]}).table


def test_lift_own_output(water: pa.Table) -> None:
    world = lift(water)
    assert world["rows"] == 1800
    t = world["time"]
    assert t["column"] == "timestamp" and t["sample_rate_hz"] == pytest.approx(1.0) and t["regular"]
    assert t["start"] == "2024-01-01T00:00:00.000Z" and t["duration_s"] == 1799.0 and t["gaps"] == 0
    assert world["plant"]["name"] == "water" and world["plant"]["score"] > 0.9
    tags = {x["name"]: x for x in world["tags"]}
    assert tags["LIT101"]["type"] == "analog" and tags["LIT101"]["unit"] == "m"
    assert tags["LIT101"]["unit_source"] == "metadata" and tags["LIT101"]["plant_tag"] == "LIT101"
    assert tags["P101.TRIP"]["type"] == "bool" and tags["LIC101.SP"]["constant"]
    assert tags["LIC101.SP"]["writable"] and tags["LIC101.SP"]["role"] == "setpoint"
    assert {x["name"] for x in world["labels"]} == {"attack", "attack_id", "technique", "attack_type"}
    assert "attack" not in tags
    seed = world["seed"]
    assert seed["params"]["level1_init"] == pytest.approx(tags["LIT101"]["last"])
    assert seed["params"]["level1_sp"] == 3.0
    req = prepare_simulate(seed["simulate"])  # directly usable as a simulate request
    assert req.plant == "water" and req.sample_rate == 1.0


def test_lift_csv_file_of_another_plant(tmp_path: Path) -> None:
    path = tmp_path / "feeder.csv"
    write_dataset(prepare_simulate({"plant": "power", "duration": 600, "sample_rate": 0.5}), path, fmt="csv")
    world = lift(str(path))
    assert world["plant"]["name"] == "power"
    assert world["time"]["sample_period_s"] == pytest.approx(2.0)
    tags = {x["name"]: x for x in world["tags"]}
    assert tags["V_B1"]["unit"] == "kV" and tags["V_B1"]["unit_source"] == "plant"
    assert tags["OLTC.TAP"]["type"] in ("discrete", "analog")
    ranked = [c["plant"] for c in world["plant"]["candidates"]]
    assert ranked[0] == "power" and len(ranked) == 3


def test_lift_matches_by_signature_when_names_differ() -> None:
    n = 300
    ts = pd.date_range("2023-03-01", periods=n, freq="2s")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        " Timestamp": ts.strftime("%d/%m/%Y %I:%M:%S %p"),
        "P1_LIT01": 3 + rng.normal(0, 0.01, n), "P1_FIT01": 280 + rng.normal(0, 1, n),
        "P2_FIT02": 290 + rng.normal(0, 1, n), "P2_AIT01 (mg/L)": 1 + rng.normal(0, 0.01, n),
        "P3_PIT01": 5 + rng.normal(0, 0.01, n), "P3_LIT02": 4 + rng.normal(0, 0.01, n),
        "Normal/Attack": ["Normal"] * n,
    })
    world = lift(frame)
    assert world["plant"]["name"] == "water" and world["plant"]["basis"] == "signature"
    assert world["time"]["sample_period_s"] == pytest.approx(2.0)
    tags = {x["name"]: x for x in world["tags"]}
    assert tags["P2_AIT01 (mg/L)"]["unit"] == "mg/L"
    assert world["labels"][0]["name"] == "Normal/Attack"
    assert world["seed"] is None  # no tag maps onto the model by name


def test_lift_unrelated_data_has_no_plant() -> None:
    frame = pd.DataFrame({"time": pd.date_range("2024-01-01", periods=50, freq="1min", tz="UTC"),
                          "sales": np.arange(50.0), "region": ["north", "south"] * 25})
    world = lift(pa.Table.from_pandas(frame))
    assert world["plant"]["name"] is None and world["seed"] is None
    tags = {x["name"]: x for x in world["tags"]}
    assert tags["region"]["type"] == "text" and tags["sales"]["type"] == "analog"
    assert world["time"]["sample_rate_hz"] == pytest.approx(1 / 60)


def test_lift_accepts_a_time_index() -> None:
    frame = pd.DataFrame({"TT101": 350.0 + np.zeros(60), "AT101": 1000.0 + np.arange(60.0),
                          "FT101": np.full(60, 6.0), "TIC101.SP": np.full(60, 350.0)},
                         index=pd.date_range("2024-05-01", periods=60, freq="500ms", name="when"))
    world = lift(frame)
    assert world["time"]["column"] == "when" and world["time"]["sample_rate_hz"] == pytest.approx(2.0)
    assert world["plant"]["name"] == "chemical"
    assert world["seed"]["params"] == {"conc_init": 1059.0, "temp_init": 350.0, "temp_sp": 350.0}
    assert prepare_simulate(world["seed"]["simulate"]).sample_rate == 2.0


def test_lift_reports_irregular_time() -> None:
    seconds = np.concatenate([np.arange(0, 100), np.arange(200, 300), [250]])
    frame = pd.DataFrame({"ts": seconds.astype(float) + 1.7e9, "LIT101": np.ones(201)})
    t = lift(frame)["time"]
    assert t["gaps"] == 1 and t["duplicates"] == 1 and not t["monotonic"]
    assert t["sample_period_s"] == pytest.approx(1.0)


def test_lift_rejects_bad_input(tmp_path: Path) -> None:
    for bad in (pd.DataFrame({"a": [1.0, 2.0]}), pd.DataFrame(), 42, str(tmp_path / "x.xlsx")):
        with pytest.raises(SimulationParamError) as err:
            lift(bad)
        assert err.value.field == "table"
