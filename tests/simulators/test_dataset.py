"""Batch datasets: columns, manifest, files, chunking, determinism across processes, progress and cancel."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import simulators.dataset as dataset_mod
from simulators import (
    SimulationCancelled,
    canonical_json,
    generate,
    prepare_scenario_fabricate,
    prepare_simulate,
    scenario_fabricate,
    simulate,
    write_dataset,
    write_manifest,
)
from simulators.plants.registry import PLANTS, describe_plant, list_plants

REPO = Path(__file__).resolve().parents[2]
REQUEST = {"plant": "water", "duration": 900, "seed": 42,
           "attacks": [{"technique": "T0856", "start": 300, "duration": 60, "targets": ["LIT101"], "magnitude": 0.3}]}


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_columns_and_manifest(plant: str) -> None:
    ds = simulate({"plant": plant, "duration": 120, "sample_rate": 1, "seed": 1})
    tags = [t["name"] for t in describe_plant(plant)["tags"]]
    quality = [f"quality:{t['name']}" for t in describe_plant(plant)["tags"] if t["role"] == "sensor"]
    assert ds.table.column_names == ["timestamp", *tags, *quality, "attack", "attack_id", "technique", "attack_type"]
    assert ds.table.num_rows == 120
    assert ds.table.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    ts = ds.table.column("timestamp").cast(pa.int64()).to_numpy()
    assert ts[0] == 1704067200000 and np.all(np.diff(ts) == 1000)
    m = ds.manifest
    assert m["rows"] == 120 and m["plant"]["name"] == plant and m["labels"]["attack_rows"] == 0
    assert [c["name"] for c in m["columns"]] == ds.table.column_names
    for col in m["columns"][1:-4]:
        assert {"unit", "kind", "role", "writable", "low", "high", "normal_low", "normal_high"} <= set(col)
        field = ds.table.schema.field(col["name"])
        assert field.type == (pa.int8() if col["kind"] in ("bool", "quality") else pa.float64())
        assert field.metadata[b"unit"].decode() == col["unit"]
    assert m["request"]["params"] == {p["name"]: p["default"] for p in describe_plant(plant)["params"]}
    json.dumps(m, allow_nan=False)


def test_manifest_describes_attacks() -> None:
    ds = simulate(REQUEST)
    (info,) = ds.manifest["attacks"]
    assert info["technique"] == "T0856" and info["attack_type"] == "spoof_reporting_message"
    assert info["start_time"] == "2024-01-01T00:05:00.000Z" and info["end_time"] == "2024-01-01T00:06:00.000Z"
    assert info["labelled_rows"] == 60 == ds.manifest["labels"]["attack_rows"]
    assert ds.manifest["labels"]["rows_by_technique"] == {"T0856": 60}


def test_sample_rates_and_scan_period() -> None:
    slow = simulate({"plant": "chemical", "duration": 600, "sample_rate": 0.1})
    assert slow.table.num_rows == 60 and slow.manifest["time"]["scan_period_s"] == 1.0
    fast = simulate({"plant": "chemical", "duration": 30, "sample_rate": 10})
    assert fast.table.num_rows == 300 and fast.manifest["time"]["scan_period_s"] == 0.1
    ts = fast.table.column("timestamp").cast(pa.int64()).to_numpy()
    assert np.all(np.diff(ts) == 100)
    assert fast.manifest["time"]["internal_step_s"] == 0.1
    coarse = simulate({"plant": "water", "duration": 60, "scan_period": 2.0, "sample_rate": 0.5})
    assert coarse.table.num_rows == 30 and coarse.manifest["time"]["internal_step_s"] == 1.0


def test_instances_are_time_major_and_independent() -> None:
    many = simulate({"plant": "power", "duration": 60, "instances": 3, "seed": 9})
    one = simulate({"plant": "power", "duration": 60, "instances": 1, "seed": 9})
    t = many.table
    assert t.num_rows == 180 and t.column_names[1] == "instance"
    assert t.column("instance").to_pylist()[:6] == [0, 1, 2, 0, 1, 2]
    first = t.filter(pc.equal(t.column("instance"), 0)).drop_columns(["instance"])
    for name in one.table.column_names[1:-4]:
        assert np.allclose(first.column(name).to_numpy(), one.table.column(name).to_numpy(), rtol=1e-6, atol=1e-9)
    v = t.column("V_B1").to_numpy().reshape(60, 3)
    assert not np.allclose(v[:, 0], v[:, 1])


def test_parquet_and_csv_files(tmp_path: Path) -> None:
    req = prepare_simulate(REQUEST)
    m1 = write_dataset(req, tmp_path / "d.parquet")
    m2 = write_dataset(req, tmp_path / "d.csv", fmt="csv")
    assert not list(tmp_path.glob("*.part"))
    assert m1["data"]["format"] == "parquet" and m2["data"]["format"] == "csv"
    table = pq.read_table(tmp_path / "d.parquet")
    assert table.equals(generate(req).table)
    frame = pd.read_csv(tmp_path / "d.csv", float_precision="round_trip")
    assert list(frame.columns) == table.column_names
    for name in ("LIT101", "FIT102", "P101.RUN", "attack"):
        assert np.array_equal(frame[name].to_numpy(), table.column(name).to_numpy())  # exact round trip
    assert frame["attack_id"].fillna("").tolist() == [x or "" for x in table.column("attack_id").to_pylist()]
    meta = json.loads(table.schema.metadata[b"sealforge.simulation"])
    assert meta["seed"] == 42 and meta["attacks"][0]["targets"] == ["LIT101"]


def test_chunks_become_row_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    req = prepare_simulate({"plant": "water", "duration": 2500})
    whole = generate(req).table
    monkeypatch.setattr(dataset_mod, "CHUNK_ROWS", 1000)
    write_dataset(req, tmp_path / "c.parquet")
    meta = pq.ParquetFile(tmp_path / "c.parquet").metadata
    assert meta.num_row_groups == 3 and meta.num_rows == 2500
    assert pq.read_table(tmp_path / "c.parquet").equals(whole)


SCRIPT = textwrap.dedent("""
    import sys
    from simulators import prepare_scenario_fabricate, write_dataset, write_manifest
    req = prepare_scenario_fabricate({"plant": sys.argv[1], "duration": 3600, "seed": 7, "format": sys.argv[3],
                                      "mix": [{"technique": "T0831"}, {"technique": "replay"}]})
    write_manifest(write_dataset(req, sys.argv[2]), sys.argv[2] + ".json")
""")


@pytest.mark.heavy
@pytest.mark.parametrize(("plant", "fmt"), [("water", "parquet"), ("power", "csv")])
def test_byte_identical_across_processes(tmp_path: Path, plant: str, fmt: str) -> None:
    outs = []
    for k in range(2):
        out = tmp_path / f"run{k}.{fmt}"
        subprocess.run([sys.executable, "-c", SCRIPT, plant, str(out), fmt], check=True, cwd=REPO,
                       env={"PYTHONHASHSEED": str(k), "PATH": "/usr/bin:/bin"})
        outs.append(out)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert Path(f"{outs[0]}.json").read_bytes() == Path(f"{outs[1]}.json").read_bytes()
    here = tmp_path / f"here.{fmt}"
    req = prepare_scenario_fabricate({"plant": plant, "duration": 3600, "seed": 7, "format": fmt,
                                      "mix": [{"technique": "T0831"}, {"technique": "replay"}]})
    manifest = write_dataset(req, here)
    write_manifest(manifest, f"{here}.json")
    assert here.read_bytes() == outs[0].read_bytes()
    assert canonical_json(manifest) + b"\n" == Path(f"{outs[0]}.json").read_bytes()


def test_seed_changes_output() -> None:
    a = simulate({"plant": "water", "duration": 60, "seed": 1}).table
    b = simulate({"plant": "water", "duration": 60, "seed": 2}).table
    assert not a.column("LIT101").equals(b.column("LIT101"))


def test_progress_reports_rows() -> None:
    seen: list[tuple[int, int]] = []
    dataset_mod.generate(prepare_simulate({"plant": "chemical", "duration": 30000}),
                         progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (30000, 30000)
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(seen))


def test_cancel_is_polled_and_leaves_no_file(tmp_path: Path) -> None:
    calls: list[float] = []

    def cancel() -> bool:
        calls.append(time.monotonic())
        return len(calls) >= 3

    with pytest.raises(SimulationCancelled):
        write_dataset(prepare_simulate({"plant": "water", "duration": 86400}), tmp_path / "x.parquet", cancel=cancel)
    assert len(calls) == 3  # stopped at the first poll that said cancel, long before the day was done
    assert not list(tmp_path.iterdir())


def test_scenario_fabricate_plans_deterministically() -> None:
    params = {"plant": "water", "duration": 6 * 3600, "seed": 3, "intensity": 0.7,
              "mix": [{"technique": "T0831", "count": 2}, {"technique": "T0832"}, "pulse", {"technique": "T0814"}]}
    a, b = prepare_scenario_fabricate(params), prepare_scenario_fabricate(params)
    assert a.scenarios == b.scenarios and len(a.scenarios) == 5
    assert a.scenarios != prepare_scenario_fabricate({**params, "seed": 4}).scenarios
    starts = [s.start for s in a.scenarios]
    assert starts == sorted(starts) and starts[0] >= 600
    for s, nxt in zip(a.scenarios, a.scenarios[1:], strict=False):
        assert s.end + 300 <= nxt.start  # recovery time between attacks
    assert [s.attack_id for s in a.scenarios] == ["A001", "A002", "A003", "A004", "A005"]
    assert sorted({s.technique for s in a.scenarios}) == ["denial_of_service", "manipulation_of_control",
                                                          "manipulation_of_view", "pulse_injection"]
    ds = scenario_fabricate({**params, "duration": 6 * 3600})
    assert ds.manifest["labels"]["attack_rows"] == sum(x["labelled_rows"] for x in ds.manifest["attacks"])
    assert int(np.sum(ds.table.column("attack").to_numpy())) == ds.manifest["labels"]["attack_rows"]
    assert ds.manifest["request"]["mix"][0] == {"technique": "manipulation_of_control", "count": 2,
                                                "intensity": 0.7}


def test_planned_targets_respect_technique_roles() -> None:
    req = prepare_scenario_fabricate({"plant": "power", "duration": 86400, "seed": 1,
                                      "mix": [{"technique": t, "count": 2} for t in
                                              ("T0831", "T0836", "T0855", "T0856", "T0830", "replay")]})
    table = PLANTS["power"].tag_table()
    for s in req.scenarios:
        tag = table.by_name[s.targets[0]]
        assert tag.role in s.spec.roles
        value = s.magnitude[0]
        if s.spec.magnitude == "value" and not tag.is_bool:
            assert value is not None and tag.low <= value <= tag.high


def test_plant_listing() -> None:
    names = [p["name"] for p in list_plants()]
    assert names == ["water", "chemical", "power"]
    water = describe_plant("swat")
    assert water["name"] == "water" and any(t["writable"] for t in water["tags"])
