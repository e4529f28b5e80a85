"""A model per class (``class_column``): real class proportions, sampling by class, and the TSTR gap
it closes against one model of the whole table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from appliance.services.synth import engines, marginals, metadata, tstr
from appliance.services.synth.interface import SynthesisError
from appliance.services.synth.stratified import StratifiedSynthesizer, allocate
from tests.synth_data import adult_frame


def test_allocation_sums_to_the_rows_and_follows_the_shares() -> None:
    assert allocate(10, {"a": 0.679, "b": 0.321}) == {"a": 7, "b": 3}
    assert sum(allocate(1001, {"a": 1, "b": 1, "c": 1}).values()) == 1001
    with pytest.raises(SynthesisError):
        allocate(5, {"a": 0.0})


def test_per_class_models_keep_proportions_sample_by_class_and_round_trip(sdv_home: Path, tmp_path: Path) -> None:
    real = adult_frame(400, seed=1)
    real.loc[:4, "workclass"] = "Never-worked"  # a class too small for its own model
    frame, meta = metadata.detect(real)
    model = engines.create("gaussian_copula", "cpu", class_column="workclass")
    assert isinstance(model, StratifiedSynthesizer)
    model.fit(frame, meta)
    assert set(model.copulas) == {"Private", "Self-emp", "Local-gov", "State-gov"}
    assert model.pooled_copula is not None and model.shared is not None, "one data processor, shared"
    rows = pd.concat(model.sample_chunks(1000, 3, 300), ignore_index=True)
    expected = allocate(1000, model.proportions)
    assert rows["workclass"].value_counts().to_dict() == {k: v for k, v in expected.items() if v}
    only = model.sample(50, 4, conditions={"workclass": "Never-worked"})
    assert (only["workclass"] == "Never-worked").all() and len(only) == 50
    model.asked = {"State-gov": 1, "Private": 3}
    asked = model.sample(400, 5)
    assert asked["workclass"].value_counts().to_dict() == {"Private": 300, "State-gov": 100}
    model.asked = None

    model.save(tmp_path / "m.pkl")
    loaded = engines.load(tmp_path / "m.pkl", "sdv_stratified")
    pd.testing.assert_frame_equal(loaded.sample(300, 6), model.sample(300, 6))
    with pytest.raises(SynthesisError) as caught:
        model.sample(10, 1, conditions={"workclass": "Pirate"})
    assert caught.value.field == "conditions.workclass"
    with pytest.raises(SynthesisError) as unknown:
        engines.create("gaussian_copula", "cpu", class_column="nope").fit(frame, meta)
    assert unknown.value.field == "class_column"


def test_a_model_per_class_closes_most_of_the_tstr_gap(sdv_home: Path) -> None:
    real, test = adult_frame(600, seed=1), adult_frame(400, seed=2)
    frame, meta = metadata.detect(real)
    scores = {}
    for class_column in (None, "income"):
        model = engines.create("gaussian_copula", "cpu", class_column=class_column)
        model.fit(frame, meta)
        result = tstr.evaluate(model.sample(600, 3), test, "income", "classification", 0, real_train=frame)
        scores[class_column] = result["tstr"]["f1"]
        ceiling = result["trtr"]["f1"]
    assert ceiling - scores["income"] <= (ceiling - scores[None]) / 2, (scores, ceiling)


def test_the_empirical_marginal_inverts_its_cdf_and_steps_through_seen_values_only() -> None:
    values = np.array([0.0, 0.0, 0.0, 0.0, 1.5, 2.0, 7.0, 9.0])
    smooth = marginals.EmpiricalMarginal(values, stepped=False)
    grid = (np.arange(len(values)) + 0.5) / len(values)
    np.testing.assert_allclose(smooth.percent_point(grid), np.sort(values))
    assert smooth.cdf(np.array([0.0]))[0] == 0.25, "tied values share the middle of their block"
    assert 2.0 < smooth.percent_point(np.array([0.75]))[0] < 7.0, "between order statistics: interpolated"
    stepped = marginals.EmpiricalMarginal(values, stepped=True)
    drawn = stepped.percent_point(np.random.default_rng(0).random(1000))
    assert set(drawn) <= set(values) and (drawn == 0).mean() == pytest.approx(0.5, abs=0.06)
    assert marginals.EmpiricalMarginal(np.array([np.nan]), stepped=True).percent_point(np.array([0.3]))[0] == 0
    large = np.random.default_rng(1).gamma(2.0, 3.0, 200_000)
    kept = marginals.EmpiricalMarginal(large, stepped=False)
    assert len(kept.sorted) == marginals.MAX_KNOTS and set(kept.sorted) <= set(large), "real values, bounded"
    np.testing.assert_allclose(kept.percent_point(np.array([0.1, 0.5, 0.9])), np.quantile(large, [0.1, 0.5, 0.9]),
                               rtol=0.01)


def test_each_class_samples_its_own_categories_and_shapes(sdv_home: Path) -> None:
    rng = np.random.default_rng(5)
    rows = 300
    label = np.where(np.arange(rows) < 200, "normal", "attack")
    real = pd.DataFrame({
        "mode": np.where(label == "normal", rng.choice(["auto", "manual"], rows), "bypass"),
        "level": np.where(label == "normal", rng.normal(50, 2, rows), rng.normal(80, 2, rows)).round(2),
        "label": label,
    })
    frame, meta = metadata.detect(real)
    model = engines.create("gaussian_copula", "cpu", class_column="label")
    model.fit(frame, meta)
    rows_out = model.sample(600, 11)
    attack = rows_out[rows_out["label"] == "attack"]
    normal = rows_out[rows_out["label"] == "normal"]
    assert len(attack) == 200 and len(normal) == 400
    assert set(attack["mode"]) == {"bypass"} and set(normal["mode"]) == {"auto", "manual"}
    assert attack["level"].min() > 70 and normal["level"].max() < 60, "each class keeps its own range"
    manual = model.sample(40, 12, conditions={"label": "normal", "mode": "manual"})
    assert (manual["mode"] == "manual").all() and (manual["label"] == "normal").all()
    again = engines.create("gaussian_copula", "cpu", class_column="label")
    again.fit(frame, meta)
    pd.testing.assert_frame_equal(again.sample(300, 13), model.sample(300, 13))


def test_a_model_file_from_before_the_shared_preparation_still_samples(sdv_home: Path, tmp_path: Path) -> None:
    import cloudpickle

    from appliance.services.synth.sdv_engine import SDVSynthesizer

    real = adult_frame(200, seed=4)
    frame, meta = metadata.detect(real)
    models = {}
    for income in (">50K", "<=50K"):
        model = SDVSynthesizer("gaussian_copula", "cpu")
        model.fit(frame[frame["income"] == income].reset_index(drop=True), meta)
        models[income] = model.model
    state = {"class_column": "income", "synthesizer": "gaussian_copula", "values": {">50K": ">50K", "<=50K": "<=50K"},
             "proportions": {"<=50K": 0.75, ">50K": 0.25}, "models": models, "pooled": None}
    with (tmp_path / "old.pkl").open("wb") as fh:
        cloudpickle.dump(state, fh)  # the layout save() wrote for every synthesizer until the shared preparation
    loaded = engines.load(tmp_path / "old.pkl", "sdv_stratified")
    assert isinstance(loaded, StratifiedSynthesizer) and loaded.shared is None
    rows = loaded.sample(100, 2)
    assert rows["income"].value_counts().to_dict() == {"<=50K": 75, ">50K": 25}
    assert (loaded.sample(20, 3, conditions={"income": ">50K"})["income"] == ">50K").all()
