"""Multi-table (HMA) synthesis in the service layer: the holdout cut along the keys, sampling in
chunks (keys unique over chunks, every foreign key resolving, the same bytes in another process),
cancel while HMA fits, and DCR per table against the holdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from appliance.services.synth import multi
from appliance.services.synth.interface import TrainingCanceled
from appliance.services.synth.multi_sampling import TableWriters, plan, sample_chunks, write_chunks

ROOT = Path(__file__).resolve().parents[3]
REL = [
    {"parent_table": "plants", "parent_primary_key": "plant_id", "child_table": "assets",
     "child_foreign_key": "plant_id"},
    {"parent_table": "plants", "parent_primary_key": "plant_id", "child_table": "alarms",
     "child_foreign_key": "plant_id"},
]


def plant_tables(plants: int = 60, seed: int = 4) -> dict[str, pd.DataFrame]:
    """Plants with two child tables: assets (1-5 each) and alarms (0-12 each). Two levels, as
    SDV's community HMA takes no deeper schema."""
    rng = np.random.default_rng(seed)
    per_plant = rng.integers(1, 6, plants)
    assets = pd.DataFrame({
        "asset_id": np.arange(1, per_plant.sum() + 1),
        "plant_id": np.repeat(np.arange(1, plants + 1), per_plant),
        "kind": rng.choice(["pump", "valve", "tank"], per_plant.sum()),
        "capacity": rng.gamma(3.0, 40.0, per_plant.sum()).round(1),
    })
    per_plant_alarms = rng.integers(0, 13, plants)
    alarms = pd.DataFrame({
        "alarm_id": np.arange(1, per_plant_alarms.sum() + 1),
        "plant_id": np.repeat(np.arange(1, plants + 1), per_plant_alarms),
        "severity": rng.integers(1, 4, per_plant_alarms.sum()),
        "duration_s": rng.exponential(120.0, per_plant_alarms.sum()).round(1),
    })
    plants_frame = pd.DataFrame({
        "plant_id": np.arange(1, plants + 1),
        "region": rng.choice(["north", "south", "east"], plants),
        "staff": rng.integers(5, 60, plants),
    })
    return {"plants": plants_frame, "assets": assets, "alarms": alarms}


def _fitted(frames: dict[str, pd.DataFrame]) -> tuple[multi.HMAModel, multi.MultiMetadata, dict[str, pd.DataFrame]]:
    parsed, meta = multi.detect(frames, REL)
    model = multi.HMAModel()
    model.fit(parsed, meta)
    return model, meta, parsed


def test_holdout_takes_the_children_of_held_out_parents_along() -> None:
    frames = plant_tables()
    parsed, meta = multi.detect(frames, REL)
    train, holdout = multi.split_tables(parsed, meta, 0.2, seed=9)
    assert len(holdout["plants"]) == 12 and len(train["plants"]) == 48
    for part in (train, holdout):
        assert set(part["assets"]["plant_id"]) <= set(part["plants"]["plant_id"])
        assert set(part["alarms"]["plant_id"]) <= set(part["plants"]["plant_id"])
    for name in frames:
        assert len(train[name]) + len(holdout[name]) == len(frames[name])
    again, _ = multi.split_tables(parsed, meta, 0.2, seed=9)
    assert all(again[name].equals(train[name]) for name in frames), "the split is not recomputed exactly"
    other, _ = multi.split_tables(parsed, meta, 0.2, seed=10)
    assert not other["plants"].equals(train["plants"])
    small = {name: frame.head(30) if name == "plants" else frame for name, frame in parsed.items()}
    small["assets"] = small["assets"][small["assets"]["plant_id"] <= 30]
    small["alarms"] = small["alarms"][small["alarms"]["plant_id"] <= 30]
    _, none = multi.split_tables(small, meta, 0.2, seed=9)
    assert all(len(frame) == 0 for frame in none.values()), "under 50 root rows there is no holdout (as one table)"


def test_cancel_lands_while_hma_fits_not_after(sdv_home: Path) -> None:
    parsed, meta = multi.detect(plant_tables(), REL)
    asked = []

    def cancel() -> bool:
        asked.append(1)
        return len(asked) >= 12

    model = multi.HMAModel()
    with pytest.raises(TrainingCanceled):
        model.fit(parsed, meta, cancel_cb=cancel)
    assert len(asked) == 12 and model.model is None
    # asked at least once per parent row's extension fit (a plant's assets, a plant's alarms)
    counted: list[int] = []

    def count() -> bool:
        counted.append(1)
        return False

    model.fit(parsed, meta, cancel_cb=count)
    assert len(counted) > len(parsed["plants"]) + parsed["alarms"]["plant_id"].nunique()
    fitted = model.model
    assert fitted is not None and type(fitted._table_synthesizers) is dict and "_synthesizer" not in vars(fitted)


def test_chunks_keep_keys_unique_and_resolving_and_fill_the_rows(sdv_home: Path) -> None:
    model, meta, _ = _fitted(plant_tables())
    main, per_chunk = plan(model.model, meta, chunk_rows=200)
    assert main == "plants" and 1 <= per_chunk < 60
    chunks = list(sample_chunks(model, 90, 5, meta, chunk_rows=200))
    assert len(chunks) > 2 and sum(chunk.roots for chunk in chunks) == 90
    tables = {name: pd.concat([c.tables[name] for c in chunks], ignore_index=True) for name in meta.tables}
    assert len(tables["plants"]) == 90
    for name, key in (("plants", "plant_id"), ("assets", "asset_id"), ("alarms", "alarm_id")):
        assert tables[name][key].is_unique, f"{name}.{key} repeats across chunks"
    assert set(tables["assets"]["plant_id"]) <= set(tables["plants"]["plant_id"])
    assert set(tables["alarms"]["plant_id"].dropna()) <= set(tables["plants"]["plant_id"])
    # integer keys are numbered over the chunks (SDV's faker keys remember every key they gave)
    assert tables["plants"]["plant_id"].tolist() == list(range(1, 91))
    assert tables["assets"]["asset_id"].tolist() == list(range(1, len(tables["assets"]) + 1))
    whole = model.sample(90, 5, meta)
    assert len(whole["plants"]) == 90 and len(whole["alarms"]) > 0


SCRIPT = """
import sys, json
from pathlib import Path
from appliance.services.synth import multi, offline
from appliance.services.synth.multi_sampling import TableWriters, write_chunks
folder = Path(sys.argv[1])
offline.prepare(folder / "state-child")
meta = multi.MultiMetadata.from_json(json.loads((folder / "meta.json").read_text()))
(folder / "child").mkdir()
write_chunks(multi.HMAModel.load(folder / "model.pkl"), 70, 21, meta, TableWriters(folder / "child", "csv"),
             chunk_rows=150)
"""


@pytest.mark.heavy
def test_chunked_files_are_byte_identical_in_another_process(sdv_home: Path, tmp_path: Path) -> None:
    model, meta, _ = _fitted(plant_tables())
    model.save(tmp_path / "model.pkl")
    (tmp_path / "meta.json").write_text(json.dumps(meta.to_json(), default=str))
    (tmp_path / "here").mkdir()
    done: list[int] = []
    kept = write_chunks(model, 70, 21, meta, TableWriters(tmp_path / "here", "csv"), done.append, chunk_rows=150)
    assert done[-1] == 70 and len(done) > 1
    assert set(kept["assets"]["plant_id"]) <= set(kept["plants"]["plant_id"])
    env = {**os.environ, "PYTHONHASHSEED": "11", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], env=env, check=True, timeout=180)
    for name in meta.tables:
        here = (tmp_path / "here" / f"{name}.csv").read_bytes()
        assert here == (tmp_path / "child" / f"{name}.csv").read_bytes(), name
    assert len(pd.read_csv(tmp_path / "here" / "plants.csv")) == 70


@pytest.mark.heavy
def test_privacy_per_table_leaves_keys_out_and_uses_the_holdout(sdv_home: Path) -> None:
    parsed, meta = multi.detect(plant_tables(plants=120), REL)
    train, holdout = multi.split_tables(parsed, meta, 0.25, seed=3)
    model = multi.HMAModel()
    model.fit(train, meta)
    synthetic = model.sample(80, 8, meta)
    report = multi.privacy(synthetic, train, holdout, meta, 8)
    assert set(report["tables"]) == {"plants", "assets", "alarms"} and report["risk"] in ("low", "elevated")
    alarms = report["tables"]["alarms"]
    assert alarms["dcr"]["holdout_to_train"] is not None
    assert alarms["rows_compared"]["holdout"] == len(holdout["alarms"])
    assert multi.key_columns(meta, "assets") == {"asset_id", "plant_id"}
    copied = multi.privacy(train, train, holdout, meta, 8)  # the training rows themselves: copies
    assert copied["risk"] == "elevated" and copied["tables"]["plants"]["exact_copy_rate"] == 1.0
    reference = multi.quality_reference(train, holdout, meta, 8)
    assert set(reference) == {"plants", "assets", "alarms"} and reference["plants"]["score"] is not None
    assert multi.privacy(synthetic, train, None, meta, 8)["risk"] == "unknown"
