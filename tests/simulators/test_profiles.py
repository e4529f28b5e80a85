"""Dataset profiles: SWaT- and HAI-shaped exports of a run, their validation and determinism."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulators import SimulationParamError, prepare_scenario_fabricate, prepare_simulate, write_dataset
from simulators.dataset import generate
from simulators.profiles import file_name, format_times, hai_name

REPO = Path(__file__).resolve().parents[2]
MIX = [{"technique": "spoof_reporting_message", "count": 2, "targets": ["LIT101"]},
       {"technique": "manipulation_of_control", "count": 1, "targets": ["P201"]}]


def _request(profile: str, **extra: object) -> object:
    return prepare_scenario_fabricate({"plant": "water", "duration": 3600, "seed": 4, "profile": profile,
                                       "mix": MIX, **extra})


def test_swat_shape_units_codes_and_labels(tmp_path: Path) -> None:
    native = generate(_request("native")).table
    req = _request("swat")
    assert file_name(req) == "water_Dataset_Attack.csv"
    manifest = write_dataset(req, tmp_path / "swat.csv")
    text = (tmp_path / "swat.csv").read_text()
    assert '"' not in text  # the public files quote nothing
    frame = pd.read_csv(tmp_path / "swat.csv")
    assert frame.columns[0] == " Timestamp" and frame.columns[-1] == "Normal/Attack"
    assert frame[" Timestamp"].iloc[0] == " 1/1/2024 12:00:00 AM"  # as SWaT: day and month not zero-padded
    assert frame[" Timestamp"].iloc[3600 - 1] == " 1/1/2024 12:59:59 AM"
    np.testing.assert_allclose(frame["LIT101"], native.column("LIT101").to_numpy() * 1000.0)
    np.testing.assert_allclose(frame["PIT201"], native.column("PIT201").to_numpy() * 100.0)
    np.testing.assert_allclose(frame["AIT204"], native.column("AIT201").to_numpy())
    assert "AIT201" not in frame.columns  # SWaT's AIT201 is conductivity, not chlorine
    assert set(frame[" P201"]) <= {1, 2}  # SWaT's header spells P201 with a leading space
    np.testing.assert_array_equal(frame[" P201"], native.column("P201").to_numpy() + 1)
    assert "P201" not in frame.columns and "P101" in frame.columns  # only SWaT's spaced names have one
    assert not {"LIC101.SP", "LIC101_SP", "LIT101.HI"} & set(frame.columns)  # SWaT has sensors and actuators only
    assert not any(c.startswith("quality:") for c in frame.columns)
    attack = native.column("attack").to_numpy() == 1
    assert (frame["Normal/Attack"] == "Attack").to_numpy().tolist() == attack.tolist()
    assert attack.any()
    columns = {c["name"]: c for c in manifest["profile"]["columns"]}
    assert columns["LIT101"] == {"name": "LIT101", "source": "LIT101", "unit": "mm", "scale": 1000.0}
    assert manifest["request"]["profile"] == "swat"


def test_hai_names_and_per_process_labels(tmp_path: Path) -> None:
    native = generate(_request("native")).table
    req = _request("hai")
    assert file_name(req) == "test1.csv"
    manifest = write_dataset(req, tmp_path / "hai.csv")
    frame = pd.read_csv(tmp_path / "hai.csv")
    assert frame.columns[0] == "time" and frame["time"].iloc[61] == "2024-01-01 00:01:01"
    assert {"P1_LIT01", "P2_FIT01", "P1_PP01", "P2_PP01", "P1_LIC01_SP"} <= set(frame.columns)
    np.testing.assert_allclose(frame["P1_LIT01"], native.column("LIT101").to_numpy())
    labels = [c for c in frame.columns if c.startswith("attack")]
    assert labels[0] == "attack" and {"attack_P1", "attack_P2"} <= set(labels)
    assert list(frame.columns[-len(labels):]) == labels  # the labels end the row, as in HAI
    np.testing.assert_array_equal(frame["attack"], native.column("attack").to_numpy())
    types = native.column("attack_type").to_pylist()
    spoof = np.array([t is not None and "spoof_reporting_message" in t for t in types])
    command = np.array([t is not None and "manipulation_of_control" in t for t in types])
    np.testing.assert_array_equal(frame["attack_P1"].to_numpy() == 1, spoof)  # LIT101 lies in process 1
    np.testing.assert_array_equal(frame["attack_P2"].to_numpy() == 1, command)  # P201 in process 2
    assert manifest["profile"]["labels"]["attack_P2"].startswith("1 while an attack targets")


def test_normal_runs_name_their_files_as_the_public_sets() -> None:
    for profile, name in (("swat", "water_Dataset_Normal.csv"), ("hai", "train1.csv")):
        req = prepare_simulate({"plant": "water", "duration": 60, "profile": profile})
        assert file_name(req) == name
    assert file_name(prepare_simulate({"plant": "water", "duration": 60})) == "water-telemetry.parquet"


def test_in_memory_generate_gives_the_profile_shape() -> None:
    data = generate(prepare_simulate({"plant": "chemical", "duration": 30, "profile": "hai"}))
    assert data.table.column_names[0] == "time"
    assert "P1_TT01" in data.table.column_names and data.manifest["profile"]["name"] == "hai"


def test_names_and_times() -> None:
    assert hai_name("LIT101") == ("P1_LIT01", 1)
    assert hai_name("P201.RUN") == ("P2_PP01_RUN", 2)
    assert hai_name("V_B1") == ("P1_V_B1", 1)
    ms = np.array([1450800000000, 1450800000000 + 13 * 3_600_000 + 61_500])
    assert format_times("swat", ms, False).tolist() == [" 22/12/2015 4:00:00 PM", " 23/12/2015 5:01:01 AM"]
    last = np.array([1451746799000])  # the last row of SWaT_Dataset_Attack_v0
    assert format_times("swat", last, False).tolist() == [" 2/1/2016 2:59:59 PM"]
    assert format_times("hai", ms, True).tolist() == ["2015-12-22 16:00:00.000", "2015-12-23 05:01:01.500"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [({"profile": "wadi"}, "profile"), ({"profile": ["swat"]}, "profile"),
     ({"profile": "swat", "format": "parquet"}, "format")],
)
def test_bad_profiles_name_the_field(extra: dict[str, object], field: str) -> None:
    with pytest.raises(SimulationParamError) as info:
        prepare_simulate({"plant": "water", "duration": 60, **extra})
    assert info.value.field == field


def test_native_contract_has_no_profile_key() -> None:
    assert "profile" not in prepare_simulate({"plant": "water", "duration": 60}).contract()


SCRIPT = textwrap.dedent("""
    import sys
    from simulators import prepare_scenario_fabricate, write_dataset, write_manifest
    req = prepare_scenario_fabricate({"plant": "water", "duration": 3600, "seed": 2, "profile": sys.argv[2],
                                      "mix": [{"technique": "spoof"}, {"technique": "replay"}]})
    write_manifest(write_dataset(req, sys.argv[1]), sys.argv[1] + ".json")
""")


@pytest.mark.parametrize("profile", ["native", "swat", "hai"])
def test_byte_identical_across_processes(tmp_path: Path, profile: str) -> None:
    outs = []
    for k in range(2):
        out = tmp_path / f"run{k}.out"
        subprocess.run([sys.executable, "-c", SCRIPT, str(out), profile], check=True, cwd=REPO,
                       env={"PYTHONHASHSEED": str(k), "PATH": "/usr/bin:/bin"})
        outs.append(out)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert Path(f"{outs[0]}.json").read_bytes() == Path(f"{outs[1]}.json").read_bytes()
