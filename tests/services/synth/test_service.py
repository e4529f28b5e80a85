"""The synthesis service layer in-process: metadata, epoch hooks and cancel, privacy, TSTR,
the offline guarantee, and (with a GPU) the CUDA path."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from appliance.services.synth import engines, metadata, privacy, tstr
from appliance.services.synth.interface import EpochEvent, SynthesisError, TrainingCanceled
from tests.synth_data import adult_frame


def test_metadata_detects_parses_dates_and_applies_overrides(sdv_home: Path) -> None:
    frame = adult_frame(60).assign(
        day=pd.date_range("2021-01-01", periods=60).strftime("%Y-%m-%d"),
        shift=pd.date_range("2021-01-01", periods=60).strftime("%d/%m/%Y"),
    )
    parsed, meta = metadata.detect(
        frame, {"hours": "categorical", "shift": {"sdtype": "datetime", "datetime_format": "%d/%m/%Y"}}
    )
    types = meta.sdtypes()
    assert types["hours"] == "categorical" and types["age"] == "numerical" and types["income"] == "categorical"
    assert types["day"] == "datetime" and types["shift"] == "datetime"
    assert pd.api.types.is_datetime64_any_dtype(parsed["day"]) and pd.api.types.is_datetime64_any_dtype(parsed["shift"])
    assert parsed["shift"].iloc[31] == pd.Timestamp("2021-02-01")
    assert {c["name"]: c.get("datetime_format") for c in meta.summary()}["shift"] == "%d/%m/%Y"
    again = metadata.align_like(frame, metadata.TableMetadata.from_json(meta.to_json()))
    assert again["shift"].equals(parsed["shift"])


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"nope": "categorical"}, "metadata.nope"),
        ({"age": {"kind": "x"}}, "metadata.age"),
        ({"age": "datetime", "income": "categorical"}, "metadata.age"),
        ({"education": "numerical"}, "metadata"),
    ],
)
def test_metadata_errors_name_the_field(sdv_home: Path, overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(SynthesisError) as caught:
        metadata.detect(adult_frame(60).assign(age=lambda f: f["age"].astype(str) + "y"), overrides)
    assert caught.value.field == field, caught.value


def test_an_empty_table_is_refused_before_training(sdv_home: Path) -> None:
    from appliance.services.synth.training import TrainingConfig, train

    config = TrainingConfig(synthesizer="gaussian_copula", dataset_id="ds_x", dataset_blake3="0" * 64, max_rows=10,
                            holdout=0.2, seed=1)
    with pytest.raises(SynthesisError) as caught:
        train(adult_frame(10).iloc[:0], config)
    assert caught.value.field == "inputs.0" and "no rows" in caught.value.message
    with pytest.raises(SynthesisError) as refused:
        TrainingConfig(synthesizer="gaussian_copula", dataset_id="ds_x", dataset_blake3="0" * 64, max_rows=10,
                       holdout=0.9, seed=1).validate()
    assert refused.value.field == "holdout"


def test_ctgan_reports_each_epoch_and_cancels_between_batches(sdv_home: Path) -> None:
    frame, meta = metadata.detect(adult_frame(120)[["age", "education", "income"]])
    events: list[EpochEvent] = []
    model = engines.create("ctgan", "cpu")
    summary = model.fit(frame, meta, epochs=2, progress_cb=events.append)
    assert [e.epoch for e in events] == [1, 2] and all(e.epochs == 2 for e in events)
    assert set(events[0].losses) == {"generator", "discriminator"}
    assert [row["epoch"] for row in summary.loss] == [1, 2] and summary.device == "cpu"
    inner = model.model._model  # type: ignore[attr-defined]
    assert type(inner).__name__ == "CTGAN" and "_sf_watch" not in inner.__dict__
    assert not inner._generator._forward_pre_hooks, "hooks must not be pickled with the model"

    stop = threading.Event()
    seen: list[int] = []

    def on_epoch(event: EpochEvent) -> None:
        seen.append(event.epoch)
        if event.epoch == 2:
            stop.set()

    with pytest.raises(TrainingCanceled):
        engines.create("tvae", "cpu").fit(frame, meta, epochs=10_000, progress_cb=on_epoch, cancel_cb=stop.is_set)
    assert seen == [1, 2]


def test_privacy_flags_copies_and_passes_fresh_rows() -> None:
    real = adult_frame(600, seed=1)
    train, holdout = real.iloc[:400].reset_index(drop=True), real.iloc[400:].reset_index(drop=True)
    copied = privacy.privacy_report(train.sample(200, random_state=0), train, holdout, seed=3)
    fresh = privacy.privacy_report(adult_frame(200, seed=99), train, holdout, seed=3)
    assert copied["exact_copy_rate"] == 1.0 and copied["dcr"]["synthetic_to_train"]["median"] == 0.0
    assert copied["risk"] == "elevated" and copied["closer_to_train_share"] > 0.65
    assert fresh["risk"] == "low", fresh
    assert 0.2 < fresh["closer_to_train_share"] < 0.8 and fresh["dcr"]["ratio"] > 0.8
    assert fresh["rows_compared"] == {"synthetic": 200, "train": 400, "holdout": 200}
    unknown = privacy.privacy_report(fresh_rows := adult_frame(50, seed=5), train, None, seed=3)
    assert unknown["risk"] == "unknown" and unknown["dcr"]["holdout_to_train"] is None and len(fresh_rows) == 50


def test_tstr_classification_and_regression() -> None:
    synthetic, real = adult_frame(400, seed=2), adult_frame(200, seed=3)
    result = tstr.evaluate(synthetic, real, "income", "auto", seed=0, real_train=adult_frame(300, seed=4))
    assert result["task"] == "classification" and result["metric"] == "f1"
    assert set(result["tstr"]) >= {"accuracy", "f1", "precision", "recall", "roc_auc", "log_loss"}
    assert result["tstr"]["positive_class"] == ">50K" and result["tstr"]["roc_auc"] > 0.6
    assert result["trtr"]["accuracy"] is not None and result["score"] == result["tstr"]["f1"]
    assert {c["column"]: c["metric"] for c in result["columns"]} == {
        "age": "ks",
        "workclass": "tvd",
        "education": "tvd",
        "hours": "ks",
        "income": "tvd",
    }
    regression = tstr.evaluate(synthetic, real, "age", "auto", seed=0)
    assert regression["task"] == "regression" and set(regression["tstr"]) == {"r2", "mae", "rmse"}
    with pytest.raises(SynthesisError) as caught:
        tstr.evaluate(synthetic, real, "workclass", "regression", seed=0)
    assert caught.value.field == "task"
    with pytest.raises(SynthesisError):
        tstr.evaluate(synthetic.assign(income="<=50K"), real, "income", "classification", seed=0)


def test_fit_and_sample_never_open_a_socket(sdv_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    frame, meta = metadata.detect(adult_frame(100))
    model = engines.create("gaussian_copula", "cpu")
    model.fit(frame, meta)
    rows = model.sample(50, seed=1)
    assert len(rows) == 50 and not attempts
    assert str(sdv_home) in str(Path(__import__("platformdirs").user_data_dir("sdv", "sdv-dev")))


def test_same_seed_same_rows_other_seed_other_rows(sdv_home: Path) -> None:
    frame, meta = metadata.detect(adult_frame(200))
    model = engines.create("gaussian_copula", "cpu")
    model.fit(frame, meta)
    one = pd.concat(model.sample_chunks(300, 11, 100), ignore_index=True)
    two = pd.concat(model.sample_chunks(300, 11, 100), ignore_index=True)
    other = model.sample(300, 12)
    pd.testing.assert_frame_equal(one, two)
    assert not one.equals(other)
    assert np.isin(one["income"].unique(), ["<=50K", ">50K"]).all()


@pytest.mark.gpu
def test_ctgan_trains_and_samples_on_cuda(sdv_home: Path, tmp_path: Path) -> None:
    from appliance.services.synth.device import pick_device

    assert pick_device("ctgan") == "cuda" and pick_device("gaussian_copula") == "cpu"
    frame, meta = metadata.detect(adult_frame(300))
    model = engines.create("ctgan", pick_device("ctgan"))
    summary = model.fit(frame, meta, epochs=2)
    assert summary.device == "cuda" and str(model.model._model._device).startswith("cuda")  # type: ignore[attr-defined]
    model.save(tmp_path / "m.pkl")
    loaded = engines.load(tmp_path / "m.pkl")
    assert loaded.device == "cuda"
    pd.testing.assert_frame_equal(loaded.sample(200, 5), loaded.sample(200, 5))
