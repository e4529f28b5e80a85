"""The scan engine: scalar and vectorised back-ends agree, instances are independent (speed: bench/sim.py)."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.core.sensors import SensorOptions
from simulators.plants.registry import PLANTS

from .helpers import attack, make

NOISY = SensorOptions(noise=1.0, drift=1.0, quantization_bits=16)


def rows(sim, scans: int) -> np.ndarray:
    return np.concatenate([v for _, v in sim.run(scans)])


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_vectorised_instances_match_scalar_runs(plant: str) -> None:
    scenario = [attack("denial_of_service", 200, 100, [PLANTS[plant].tag_table().sensors[0].name])]
    scalar = rows(make(plant, seed=5, sensors=NOISY, scenarios=scenario), 600)
    batch = rows(make(plant, seed=5, sensors=NOISY, scenarios=scenario, instances=4), 600)
    assert batch.shape == (*scalar.shape, 4)
    assert np.allclose(batch[:, :, 0], scalar, rtol=1e-9, atol=1e-6)
    assert not np.allclose(batch[:, :, 0], batch[:, :, 1])  # each instance has its own noise and load
    solo = rows(make(plant, seed=5, sensors=NOISY, scenarios=scenario, instances=1, vectorised=True), 600)
    assert np.allclose(solo[:, :, 0], scalar, rtol=1e-12, atol=1e-9)


def test_scan_period_and_substeps() -> None:
    sim = make("chemical", scan_period=2.5)
    assert sim.substeps == 3 and sim.step == pytest.approx(2.5 / 3)
    sim = make("water", scan_period=0.25)
    assert sim.substeps == 1 and sim.step == 0.25


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_block_size_does_not_change_values(plant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import simulators.runtime as runtime

    default = rows(make(plant, seed=8, sensors=NOISY), 300)
    monkeypatch.setattr(runtime, "BLOCK_SCANS", 37)
    small = make(plant, seed=8, sensors=NOISY)
    assert small.block == 37
    assert np.array_equal(rows(small, 300), default)


def test_many_instances_keep_blocks_small() -> None:
    sim = make("power", instances=5000)
    assert sim.block * 5000 * len(sim.table.sensors) <= 1 << 21
