"""Reading quality: a transmitter pinned at its range end is Uncertain, a device that stopped
answering is stale, every reading stays inside its range, and the codes reach the dataset."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.core.sensors import QUALITY_GOOD, QUALITY_RANGE, QUALITY_STALE, SensorOptions
from simulators.dataset import simulate
from simulators.plants.registry import PLANTS, get_plant

from .helpers import attack, run

SMOOTH: dict[str, object] = {}


def test_stopped_pump_reads_zero_with_good_quality() -> None:
    """A flow at the bottom of its range with noise on it is clipped to 0 but stays Good: only a
    reading well past the NE 43 margin (3.8 mA) is out of range."""
    d = run("water", 120, writes={0: {"P101.RUN": False}}, sensors=SensorOptions())
    assert np.all(d["FIT101"][5:] == 0.0) or np.min(d["FIT101"][5:]) >= 0.0
    assert np.all(d["quality:FIT101"] == QUALITY_GOOD)


def test_spoof_past_the_range_saturates_and_is_uncertain() -> None:
    d = run("water", 200, SMOOTH, scenarios=[attack("spoof_reporting_message", 100, 50, ["LIT101"], 4.0)])
    assert np.all(d["LIT101"][100:150] == 5.5)  # pinned at the top of the 0..5.5 m range
    assert np.all(d["quality:LIT101"][100:150] == QUALITY_RANGE)
    assert np.all(d["quality:LIT101"][:100] == QUALITY_GOOD) and np.all(d["quality:LIT101"][150:] == QUALITY_GOOD)


def test_small_spoof_stays_good() -> None:
    d = run("water", 200, SMOOTH, scenarios=[attack("spoof_reporting_message", 100, 50, ["LIT101"], 0.5)])
    assert np.all(d["quality:LIT101"] == QUALITY_GOOD)


def test_denial_of_service_marks_the_reading_stale() -> None:
    d = run("water", 200, scenarios=[attack("denial_of_service", 100, 50, ["LIT102"])])
    assert np.all(d["quality:LIT102"][100:150] == QUALITY_STALE)
    assert np.all(d["quality:LIT102"][150:] == QUALITY_GOOD)
    frozen = run("water", 200, scenarios=[attack("sensor_freeze", 100, 50, ["LIT102"])])
    assert np.all(frozen["quality:LIT102"] == QUALITY_GOOD)  # a stuck transmitter still answers


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_no_reading_outside_its_transmitter_range(plant: str) -> None:
    d = run(plant, 3600, sensors=SensorOptions(noise=3.0, drift=3.0))
    for tag in get_plant(plant).tag_table().sensors:
        assert np.all((d[tag.name] >= tag.low) & (d[tag.name] <= tag.high)), tag.name


def test_quality_columns_in_the_dataset() -> None:
    ds = simulate({"plant": "water", "duration": 300, "seed": 3, "attacks": [
        {"technique": "denial_of_service", "start": 100, "duration": 60, "targets": ["AIT201"]}]})
    q = ds.table.column("quality:AIT201").to_numpy()
    assert str(ds.table.schema.field("quality:AIT201").type) == "int8"
    assert set(np.unique(q)) == {QUALITY_GOOD, QUALITY_STALE} and np.sum(q == QUALITY_STALE) == 60
    info = next(c for c in ds.manifest["columns"] if c["name"] == "quality:AIT201")
    assert info["role"] == "quality" and info["tag"] == "AIT201" and "Uncertain" in info["description"]
