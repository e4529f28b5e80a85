"""The zero mixture marginal: a 92 %-zeros column keeps its zero share and its non-zero shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from appliance.services.synth import engines, marginals, metadata


def gains(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """Capital-gains-like: 92 % zeros, a log-normal tail, and a column that moves with it."""
    rng = np.random.default_rng(seed)
    gain = np.where(rng.uniform(size=rows) < 0.92, 0.0, np.round(rng.lognormal(7, 1, rows)))
    return pd.DataFrame({"gain": gain, "hours": rng.normal(40, 5, rows) + 6 * (gain > 0)})


def test_a_zero_inflated_column_keeps_its_zero_share_and_non_zero_shape(sdv_home: Path, tmp_path: Path) -> None:
    real = gains()
    frame, meta = metadata.detect(real)
    assert marginals.zero_inflated(frame, meta) == ["gain"]
    model = engines.create("gaussian_copula", "cpu")
    model.fit(frame, meta)
    rows = model.sample(4000, seed=1)
    assert list(rows.columns) == ["gain", "hours"], "the indicator column is the model's, not the user's"
    real_share, synthetic_share = (real["gain"] == 0).mean(), (rows["gain"] == 0).mean()
    assert abs(real_share - synthetic_share) < 0.03, (real_share, synthetic_share)
    real_tail, synthetic_tail = real.loc[real["gain"] > 0, "gain"], rows.loc[rows["gain"] > 0, "gain"]
    assert ks_2samp(real_tail, synthetic_tail).statistic < 0.2
    assert synthetic_tail.min() >= real_tail.min() and synthetic_tail.max() <= real_tail.max()
    with_gain = rows.loc[rows["gain"] > 0, "hours"].mean() - rows.loc[rows["gain"] == 0, "hours"].mean()
    assert with_gain > 1, "zero or not stays tied to the other columns through the copula"

    model.save(tmp_path / "m.pkl")
    loaded = engines.load(tmp_path / "m.pkl")
    pd.testing.assert_frame_equal(loaded.sample(200, 5), model.sample(200, 5))
    assert (loaded.sample(50, 2, conditions={"gain": 0})["gain"] == 0).all()


def test_columns_that_are_not_zero_inflated_keep_one_marginal(sdv_home: Path) -> None:
    frame = gains().assign(gain=lambda f: f["gain"] + 1.0, some_zeros=lambda f: (f.index % 3 == 0) * 5.0)
    frame.loc[3, "hours"] = 0.0
    parsed, meta = metadata.detect(frame)
    assert marginals.zero_inflated(parsed, meta) == []
    with_nulls = gains().assign(gain=lambda f: f["gain"].where(f.index % 50 != 1))
    parsed, meta = metadata.detect(with_nulls)
    assert marginals.zero_inflated(parsed, meta) == [], "missing values are left to SDV's own null handling"
