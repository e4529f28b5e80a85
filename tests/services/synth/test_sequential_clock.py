"""``regime_var``'s clock and noise parts (issue #20): the white-noise estimate, the time-of-day
profile and the schedules on series whose truth is known, then two hours of the water plant fitted
with them: the sensors' noise found at the simulator's figures, profiles and ties learnt, and the
acceptance properties kept (timestamps, label rules, lag-1), byte-identical in a fresh process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from appliance.services.synth import rules, training
from appliance.services.synth import sequence_clock as clock
from appliance.services.synth.frames import to_frame
from appliance.services.synth.regime_var import RegimeVARSynthesizer
from appliance.services.synth.sequence_metrics import lag1
from simulators import simulate
from tests.services.synth.test_sequential_regime_var import LABELS, LEVELS, WATER, _columns, digest

ROOT = Path(__file__).resolve().parents[3]


def test_noise_variance_is_found_under_ramps_and_a_smooth_wander() -> None:
    rng = np.random.default_rng(0)
    rows = 20_000
    slope = np.where((np.arange(rows) // 1_500) % 2 == 0, 0.002, -0.0015)  # a tank filling and draining
    wander = np.cumsum(rng.normal(0, 0.0005, rows))
    state = np.cumsum(slope) + wander
    steady = np.ones(rows, dtype=bool)
    steady[np.arange(0, rows, 1_500)] = False  # the pump's switches
    for sigma in (0.005, 0.02):
        found = clock.noise_variance(state + rng.normal(0, sigma, rows), steady)
        assert abs(np.sqrt(found) - sigma) / sigma < 0.1, (sigma, np.sqrt(found))
    assert clock.noise_variance(state, steady) < (0.001) ** 2, "a smooth series has (almost) no noise"


def test_profile_follows_the_day_and_is_left_out_on_noise() -> None:
    rng = np.random.default_rng(1)
    stamps = np.datetime64("2024-03-01T00:00:00", "ns").astype("int64") + np.arange(0, 2 * 86_400, 10) * 10**9
    tod = clock.seconds_of_day(stamps)
    elapsed = (stamps - stamps[0]) / 1e9
    shape = np.sin(2 * np.pi * tod / 86_400)
    spec = clock.fit_profile(shape + rng.normal(0, 0.2, len(tod)), tod, elapsed)
    assert spec is not None and spec["width"] in clock.WIDTHS and spec["gain"] > 0.5
    assert np.max(np.abs(clock.evaluate(spec, tod) - shape)) < 0.1, "bin means close to the daily shape"
    assert clock.fit_profile(rng.normal(0, 1, len(tod)), tod, elapsed) is None, "no shape, no profile"


def test_schedule_steps_at_the_learnt_times_around_the_clock() -> None:
    tod = np.arange(0, 86_400, 1.0)
    night = ((tod >= 22 * 3_600) | (tod < 5 * 3_600)).astype(np.int64)  # a night-time boost
    spec = clock.fit_schedule(night, tod)
    assert spec["minutes"] == [0, 300, 1_320] and spec["codes"] == [1, 0, 1]
    assert np.array_equal(clock.schedule_codes(spec, tod), night)
    assert clock.changes_per_day(night, np.r_[True, np.zeros(len(tod) - 1, dtype=bool)], 1.0) == 2


SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from appliance.services.synth import offline, training
    from appliance.services.synth.frames import to_frame
    from simulators import simulate
    from tests.services.synth.test_sequential_regime_var import WATER, digest
    offline.prepare(Path(sys.argv[1]))
    frame = to_frame(simulate(WATER).table)
    trained = training.train(frame, training.TrainingConfig(
        synthesizer="regime_var", dataset_id="water", dataset_blake3="", max_rows=len(frame), holdout=0.0,
        seed=5, sequence={"sequence_index": "timestamp"}, check=False))
    print(digest(trained.model.sample(len(frame), 21)))
    """
)


@pytest.mark.heavy
def test_two_hours_of_water_with_profiles_and_noise_separated(sdv_home: Path, tmp_path: Path) -> None:
    frame = to_frame(simulate(WATER).table)
    trained = training.train(frame, training.TrainingConfig(
        synthesizer="regime_var", dataset_id="water", dataset_blake3="", max_rows=len(frame), holdout=0.0,
        seed=5, sequence={"sequence_index": "timestamp"}, check=False,
    ))
    model = trained.model
    assert isinstance(model, RegimeVARSynthesizer)
    plans = {p.name: p for p in model._arrays["plans"]}
    for tag, sigma in (("LIT101", 0.005), ("LIT102", 0.005), ("FIT201", 1.0), ("PIT201", 0.01)):
        found = np.sqrt(plans[tag].noise) * plans[tag].scale  # back in the tag's units
        assert abs(found - sigma) / sigma < 0.2, (tag, found, sigma)
    assert plans["AIT201"].noise == 0.0, "a held analyser reading is not split into state and noise"
    assert model.timing["profiles"] >= 1 and plans["FIT201"].profile, "the demand follows the clock"
    assert plans["FQ201"].tie == "FIT201", "the delivered totaliser integrates the distribution flow"

    raw = model.sample(len(frame), 21)
    out = trained.metadata.enforce(raw)
    stamps = out["timestamp"].to_numpy().astype("int64")
    assert np.all(np.diff(stamps) == 10**9), "strictly increasing at the real 1-s step"
    label_rules = [r for r in trained.metadata.rules if set(LABELS) & set(_columns(r))]
    violations = sum(int(rules.violations(raw, r).sum()) for r in label_rules)
    assert label_rules and violations == 0, "label rules hold before any repair"
    for tag in LEVELS:
        real, synthetic = lag1(trained.train, tag, None), lag1(out, tag, None)
        assert real is not None and synthetic is not None and abs(real - synthetic) <= 0.1, (tag, real, synthetic)
    for counter in ("FQ101", "FQ201"):  # as the model writes them (the rules step may set a total)
        assert np.all(np.diff(raw[counter].to_numpy()) >= 0), counter
    increments = np.diff(raw["FQ201"].to_numpy())
    flow = raw["FIT201"].to_numpy()[1:] / 3600
    assert np.corrcoef(increments, flow)[0, 1] > 0.95, "the total grows with its flow"

    def minute_spread(rows: pd.DataFrame, tag: str) -> float:
        values = rows[tag].to_numpy()[: len(rows) // 60 * 60].reshape(-1, 60)
        return float(np.median(values.std(axis=1)))

    # a minute of pressure: the real one is its noise around a slow demand; a VAR that took the
    # noise for innovations wandered twice as far (docs/benchmarks.md "Sequences")
    ratio = minute_spread(out, "PIT201") / minute_spread(trained.train, "PIT201")
    assert 0.7 < ratio < 1.4, ratio

    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "fresh")], cwd=ROOT,
                          capture_output=True, text=True, check=True, timeout=300)
    assert done.stdout.strip().splitlines()[-1] == digest(raw), "a fresh process fits and samples the same"
