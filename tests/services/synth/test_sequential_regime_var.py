"""Sequential synthesis by ``regime_var``: the acceptance properties of issue #20 on two hours of the
water plant (timestamps, label rules, lag-1 of the level tags), byte-identical rows across processes
and chunk sizes, keyed sequences with context, and bad input refused with the field named."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from appliance.services.synth import metadata, rules, training
from appliance.services.synth.frames import to_frame
from appliance.services.synth.interface import SynthesisError
from appliance.services.synth.regime_var import RegimeVARSynthesizer
from appliance.services.synth.sequence_columns import COUNTER, DISCRETE
from appliance.services.synth.sequence_metrics import lag1
from appliance.services.synth.sequential import create_sequential, sequence_config
from simulators import simulate

ROOT = Path(__file__).resolve().parents[3]
LEVELS = ("LIT101", "LIT102")
COUNTERS = ("FQ101", "FQ201")
LABELS = ("attack", "attack_id", "technique", "attack_type")
WATER = {
    "plant": "water", "duration": 7200, "sample_rate": 1, "seed": 3,
    "attacks": [{"technique": "T0856", "start": 3000, "duration": 600, "targets": ["LIT101"], "magnitude": 0.3}],
}


def plant_series(rows: int = 1_500, seed: int = 1) -> pd.DataFrame:
    """A level switched by a pump with hysteresis, its flow, a totaliser and a constant mode."""
    rng = np.random.default_rng(seed)
    level, pump = np.empty(rows), np.empty(rows, dtype=bool)
    current, on = 2.5, True
    for i in range(rows):
        current += (0.01 if on else -0.008) + rng.normal(0, 0.002)
        on = (current < 3.5) if on else (current < 2.0)
        level[i], pump[i] = current, on
    flow = np.where(pump, 300 + rng.normal(0, 2, rows), 0.0)
    return pd.DataFrame({
        "timestamp": pd.date_range("2024-03-01T08:00:00", periods=rows, freq="1s"),
        "LIT101": level,
        "FIT101": flow,
        "FQ101": np.cumsum(flow) / 3600,
        "P101": pump,
        "MODE": "auto",
    })


def fit(frame: pd.DataFrame, sequence: dict[str, Any]) -> RegimeVARSynthesizer:
    parsed, md = metadata.detect(frame, None)
    model = create_sequential("regime_var", sequence_config(sequence, list(parsed.columns), len(parsed)))
    model.fit(parsed, md)
    assert isinstance(model, RegimeVARSynthesizer)
    return model


def digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame).to_numpy().tobytes()).hexdigest()


@pytest.mark.heavy
def test_two_hours_of_water_keep_timestamps_label_rules_and_level_dynamics(sdv_home: Path) -> None:
    frame = to_frame(simulate(WATER).table)
    trained = training.train(frame, training.TrainingConfig(
        synthesizer="regime_var", dataset_id="water", dataset_blake3="", max_rows=len(frame), holdout=0.0,
        seed=5, sequence={"sequence_index": "timestamp"}, check=False,
    ))
    raw = trained.model.sample(len(frame), 21)
    out = trained.metadata.enforce(raw)
    assert len(out) == len(frame) and list(out.columns) == list(trained.train.columns)

    stamps = out["timestamp"].to_numpy().astype("int64")
    assert np.all(np.diff(stamps) == 10**9), "strictly increasing at the real 1-s step"
    assert out["timestamp"].iloc[0] == trained.train["timestamp"].iloc[0]

    label_rules = [r for r in trained.metadata.rules if set(LABELS) & set(_columns(r))]
    assert label_rules, "the attack's labels give rules"
    assert rules.check(raw, label_rules)["held"] == len(label_rules), "label rules hold before any repair"
    # Every rule holds after the repair but those pinning a totaliser to its value during the one
    # real attack (``FQ101 = 198.97 when attack = 1``): a synthetic attack at another time of the
    # run cannot have that total without breaking the totalisers' order, which the repair keeps.
    kept = [r for r in trained.metadata.rules if not (r["type"] == "value_when" and r["column"] in COUNTERS)]
    assert len(kept) >= len(trained.metadata.rules) - 4
    assert rules.check(out, kept)["held"] == len(kept)
    assert np.all(out["FQ201"].to_numpy() <= out["FQ101"].to_numpy()), "delivered never above intake"
    assert set(out["attack"].unique()) == {0, 1}, "attack episodes are synthesized too"

    for tag in LEVELS:
        real, synthetic = lag1(trained.train, tag, None), lag1(out, tag, None)
        assert real is not None and synthetic is not None
        assert abs(real - synthetic) <= 0.1, (tag, real, synthetic)
        assert out[tag].between(trained.train[tag].min(), trained.train[tag].max()).all()
    assert isinstance(trained.model, RegimeVARSynthesizer)
    assert trained.summary.epochs is None and trained.model.timing["lags"] >= 1


def _columns(rule: dict[str, Any]) -> list[str]:
    """The columns a rule constrains (not those in its condition)."""
    return [*rule.get("columns", []), rule.get("column", ""), rule.get("low", ""), rule.get("high", "")]


SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from appliance.services.synth import offline
    from tests.services.synth.test_sequential_regime_var import digest, fit, plant_series
    offline.prepare(Path(sys.argv[2]))
    model = fit(plant_series(), {"sequence_index": "timestamp"})
    model.save(Path(sys.argv[1]))
    print(digest(model.sample(3_000, 11)))
    """
)


def test_rows_are_byte_identical_across_processes_chunk_sizes_and_a_reload(sdv_home: Path, tmp_path: Path) -> None:
    model = fit(plant_series(), {"sequence_index": "timestamp"})
    whole = model.sample(3_000, 11)
    chunks = list(model.sample_chunks(3_000, 11, 700))
    assert [len(c) for c in chunks] == [700, 700, 700, 700, 200]
    assert digest(pd.concat(chunks, ignore_index=True)) == digest(whole), "rows do not depend on the chunk size"
    assert digest(model.sample(3_000, 12)) != digest(whole), "another seed, other rows"

    model.save(tmp_path / "here.json")
    again = RegimeVARSynthesizer.load(tmp_path / "here.json")
    assert digest(again.sample(3_000, 11)) == digest(whole)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "there.json"), str(tmp_path / "fresh")], cwd=ROOT,
        capture_output=True, text=True, check=True, timeout=120,
    )
    assert done.stdout.strip().splitlines()[-1] == digest(whole), "a fresh process fits and samples the same"
    assert (tmp_path / "there.json").read_bytes() == (tmp_path / "here.json").read_bytes(), "same model file"


def test_roles_and_written_back_columns(sdv_home: Path) -> None:
    real = plant_series()
    model = fit(real, {"sequence_index": "timestamp"})
    roles = {p.name: p.role for p in model._arrays["plans"]}
    assert roles["FQ101"] == COUNTER and roles["P101"] == DISCRETE
    out = model.sample(2_000, 3)
    assert list(out.columns) == list(real.columns)
    assert out["P101"].dtype == bool and out["MODE"].eq("auto").all()
    assert np.all(np.diff(out["FQ101"].to_numpy()) >= 0), "a totaliser never decreases"
    assert out["FIT101"][~out["P101"]].eq(0).mean() > 0.95, "no flow while the pump is off"
    assert abs(lag1(out, "LIT101", None) - lag1(real, "LIT101", None)) <= 0.1  # type: ignore[operator]
    switches = int(out["P101"].astype(int).diff().abs().sum())
    real_switches = int(real["P101"].astype(int).diff().abs().sum())
    assert 0 < switches <= 4 * max(real_switches, 1) * len(out) / len(real), "the pump does not chatter"


def test_keyed_sequences_get_fresh_keys_their_context_and_whole_lengths(sdv_home: Path) -> None:
    parts = []
    for asset in range(6):
        part = plant_series(200, seed=asset)
        part.insert(0, "asset", f"tank-{asset}")
        part["zone"] = "north" if asset % 2 else "south"
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    model = fit(frame, {"sequence_key": "asset", "sequence_index": "timestamp", "context_columns": ["zone"]})
    out = model.sample(900, 5)
    assert len(out) == 900 and out["asset"].tolist()[:200] == [0] * 200
    assert sorted(out["asset"].unique()) == list(range(5)), "four whole sequences of 200 and one cut at 100"
    for _, part in out.groupby("asset"):
        assert part["zone"].nunique() == 1 and part["zone"].iloc[0] in {"north", "south"}
        assert part["timestamp"].diff().dropna().eq(pd.Timedelta(seconds=1)).all()
        assert part["timestamp"].iloc[0] == pd.Timestamp("2024-03-01T08:00:00")


def test_holdout_gaps_are_not_lags(sdv_home: Path) -> None:
    """Training rows with holdout windows cut out: the lags never reach across a gap."""
    frame = plant_series(1_000)
    config = sequence_config({"sequence_index": "timestamp", "window": 50}, list(frame.columns), len(frame))
    kept = frame.drop(index=range(200, 250)).reset_index(drop=True)
    parsed, md = metadata.detect(kept, None)
    model = create_sequential("regime_var", config)
    model.fit(parsed, md)
    assert isinstance(model, RegimeVARSynthesizer) and model.timing["sequences"] == 1
    out = model.sample(1_000, 2)
    assert np.all(np.diff(out["timestamp"].to_numpy().astype("int64")) == 10**9), "no gap in the output"


def test_bad_input_is_refused_naming_the_field(sdv_home: Path, tmp_path: Path) -> None:
    frame = plant_series(200)
    parsed, md = metadata.detect(frame, None)
    model = create_sequential("regime_var", {"sequence_index": "timestamp"})
    cases: list[tuple[Any, str]] = [
        (lambda: model.fit(parsed, md, epochs=5), "epochs"),
        (lambda: model.fit(parsed.head(10), md), "inputs.0"),
        (lambda: model.sample(10, 1), "model_id"),
        (lambda: create_sequential("regime_var", {"sequence_index": "ghost"}).fit(parsed, md), "sequence_index"),
        (lambda: create_sequential("lstm", {}), "synthesizer"),
    ]
    for call, field in cases:
        with pytest.raises(SynthesisError) as raised:
            call()
        assert raised.value.field == field
    holes = parsed.copy()
    holes.loc[5, "timestamp"] = pd.NaT
    with pytest.raises(SynthesisError) as raised:
        create_sequential("regime_var", {"sequence_index": "timestamp"}).fit(holes, md)
    assert raised.value.field == "sequence_index"
    model.fit(parsed, md)
    with pytest.raises(SynthesisError) as raised:
        model.sample(10, 1, conditions={"P101": True})
    assert raised.value.field == "conditions"
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    (tmp_path / "junk.pkl").write_bytes(b"\x80\x04junk")
    for name in ("other.json", "junk.pkl"):
        with pytest.raises(SynthesisError) as raised:
            RegimeVARSynthesizer.load(tmp_path / name)
        assert raised.value.field == "model_id"
