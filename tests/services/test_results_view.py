"""The min/max decimation behind the scenario chart, and the histogram a dataset profile carries."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from appliance.services.datasets.profile import histogram
from appliance.services.results_view import MAX_POINTS, decimate


def test_decimation_keeps_every_spike_within_the_point_budget() -> None:
    times = np.arange(86_400, dtype="float64")
    level = np.sin(times / 5000.0)
    level[12_345], level[70_001] = 9.0, -9.0  # one-sample spikes, as an attack leaves
    flat = np.zeros_like(times)
    flat[:100] = np.nan  # a gap (a sensor that had not reported yet)
    out_t, (out_level, out_flat) = decimate(times, [level, flat])
    assert len(out_t) == len(out_level) == len(out_flat) == MAX_POINTS
    assert out_level.max() == 9.0 and out_level.min() == -9.0
    assert np.all(np.diff(out_t) >= 0) and out_t[0] == 0 and out_t[-1] == 86_399
    assert not np.isnan(out_flat[2:]).any()


def test_a_short_series_passes_unchanged() -> None:
    times = np.arange(10, dtype="float64")
    out_t, (values,) = decimate(times, [times * 2])
    assert list(out_t) == list(times) and list(values) == list(times * 2)


def test_histogram_counts_every_finite_value_once() -> None:
    values = pa.array([1.0, 2.0, 2.5, 10.0, float("nan"), None], type=pa.float64()).drop_null()
    shape = histogram(values, bins=3)
    assert shape["counts"] == [3, 0, 1] and shape["edges"][0] == 1.0 and shape["edges"][-1] == 10.0
    assert histogram(pa.array([4, 4, 4]))["counts"] == [3]  # a constant column: one bin
    assert histogram(pa.array([], type=pa.float64())) == {"edges": [], "counts": []}
