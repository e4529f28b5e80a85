"""Transmitters as instruments (issue 19): readings saturate at the transmitter range, so nothing is
reported that the instrument cannot produce, and noise and drift can be coloured / a random walk."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.core.sensors import SensorBank, SensorOptions
from simulators.errors import SimulationParamError
from simulators.plants.registry import get_plant
from simulators.runtime import instance_rng

from .helpers import run

ROUGH = SensorOptions(noise=20.0, drift=20.0, noise_tau=30.0, drift_model="random_walk")


def sensor_tags(plant: str) -> list:
    return list(get_plant(plant).tag_table().sensors)


@pytest.mark.parametrize("plant", ["water", "chemical", "power"])
def test_no_reading_outside_its_transmitter_range(plant: str) -> None:
    """Twenty times the nominal noise and drift, coloured, for an hour: every reading stays in range."""
    data = run(plant, 3600, sensors=ROUGH, seed=5)
    for tag in sensor_tags(plant):
        values = data[tag.name]
        assert values.min() >= tag.low and values.max() <= tag.high, tag.name


def test_stopped_pump_reads_no_negative_flow() -> None:
    data = run("water", 900, sensors=SensorOptions(noise=1.0), writes={300: {"P101.RUN": False}})
    flow = data["FIT101"][302:]
    assert flow.min() == 0.0 and np.mean(flow == 0.0) > 0.3  # the noise around zero flow saturates at 0


def test_open_breaker_reads_no_negative_voltage_or_current() -> None:
    data = run("power", 600, sensors=SensorOptions(noise=1.0), writes={100: {"CB1.CMD": False}})
    for tag in ("V_B1", "V_B4", "I_FDR", "P_LD2"):
        assert data[tag][102:].min() == 0.0, tag


def test_over_range_flow_saturates_at_the_top_of_scale() -> None:
    """A bigger intake pump pushes more than FIT101's 600 m3/h: the reading sticks at 600, the truth does not."""
    data = run("water", 60, {"pump1_head": 60.0}, writes={0: {"LIC101.AUTO": False, "P101.SPEED": 100.0}})
    assert data["truth:FIT101"][5:].min() > 600.0
    assert np.all(data["FIT101"][5:] == 600.0)


def bank(options: SensorOptions, instances: int = 1, scan: float = 1.0) -> SensorBank:
    return SensorBank(sensor_tags("water"), options, [instance_rng(9, k, 1) for k in range(instances)],
                      [instance_rng(9, k, 2) for k in range(instances)], scan)


def test_ar1_noise_has_its_correlation_time_and_std() -> None:
    lit101 = 0  # noise 5 mm
    white = bank(SensorOptions(noise=1.0)).offsets(0, 20_000)[:, lit101, 0]
    coloured = bank(SensorOptions(noise=1.0, noise_tau=30.0)).offsets(0, 20_000)[:, lit101, 0]
    lag1 = lambda x: float(np.corrcoef(x[:-1], x[1:])[0, 1])  # noqa: E731
    assert abs(lag1(white)) < 0.03
    assert lag1(coloured) == pytest.approx(np.exp(-1 / 30.0), abs=0.02)
    assert np.std(coloured) == pytest.approx(0.005, rel=0.15)


def test_random_walk_drift_spreads_as_the_square_root_of_time() -> None:
    """One-minute scans, 400 instances: after a day the drift std is the tag's drift figure (1 cm for
    LIT101), after a quarter day half of it."""
    offsets = bank(SensorOptions(noise=0.0, drift=1.0, drift_model="random_walk"), 400, 60.0).offsets(0, 1440)
    spread = offsets[:, 0, :].std(axis=1)
    assert spread[-1] == pytest.approx(0.01, rel=0.15)
    assert spread[359] == pytest.approx(0.005, rel=0.15)


def test_coloured_noise_and_walk_do_not_depend_on_the_block_size() -> None:
    options = SensorOptions(noise=1.0, drift=1.0, noise_tau=20.0, drift_model="random_walk")
    whole = bank(options, 3).offsets(0, 300)
    split = bank(options, 3)
    parts = np.concatenate([split.offsets(0, 7), split.offsets(7, 100), split.offsets(107, 193)])
    assert np.array_equal(whole, parts)


@pytest.mark.parametrize("bad", [{"noise_tau": -1}, {"noise_tau": True}, {"noise_tau": "x"},
                                 {"drift_model": "sine"}])
def test_bad_sensor_options_are_refused(bad: dict) -> None:
    with pytest.raises(SimulationParamError) as err:
        SensorOptions.parse(bad)
    assert err.value.field == f"sensors.{next(iter(bad))}"


def test_sensor_options_round_trip() -> None:
    options = SensorOptions.parse({"noise": 2, "noise_tau": 15, "drift_model": "random_walk"})
    assert options == SensorOptions(noise=2.0, noise_tau=15.0, drift_model="random_walk")
    assert SensorOptions.parse(options.to_dict()) == options
