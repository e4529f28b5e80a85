"""Sequential synthesis (``par``): time order kept, seeded to the byte across processes, whole
sequences in the holdout, and sequence metrics that tell a time series from shuffled rows."""

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

from appliance.services.synth import metadata, seeding
from appliance.services.synth.interface import SynthesisError
from appliance.services.synth.sequence_metrics import lag1, sequence_report
from appliance.services.synth.sequential import (
    SequentialSynthesizer,
    check_config,
    default_epochs,
    sequence_config,
    split_sequences,
)

ROOT = Path(__file__).resolve().parents[3]


def plant_series(rows: int = 300, seed: int = 1) -> pd.DataFrame:
    """A tank level that drifts slowly (lag-1 autocorrelation near 1), a flow tied to it, a pump state."""
    rng = np.random.default_rng(seed)
    level = np.cumsum(rng.normal(0, 0.05, rows)) + 0.5
    return pd.DataFrame({
        "timestamp": pd.date_range("2024-03-01T08:00:00", periods=rows, freq="1s"),
        "LIT101": level,
        "FIT101": level * 2 + rng.normal(0, 0.01, rows),
        "P101": (level > 0.5).astype(int),
    })


def fit_and_sample(frame: pd.DataFrame, sequence: dict[str, Any], seed: int, rows: int) -> pd.DataFrame:
    parsed, md = metadata.detect(frame, None)
    config = sequence_config(sequence, list(parsed.columns), len(parsed))
    seeding.seed_globals(seed)
    model = SequentialSynthesizer(sequence=config)
    summary = model.fit(parsed, md, epochs=3)
    assert summary.epochs == 3 and len(summary.loss) == 3
    assert model.timing["optimiser_steps"] == 3 and model.timing["epoch_seconds"] > 0
    return model.sample(rows, seed)


def digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame).to_numpy().tobytes()).hexdigest()


SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from appliance.services.synth import offline
    from tests.services.synth.test_sequential import digest, fit_and_sample, plant_series
    offline.prepare(Path(sys.argv[1]))
    print(digest(fit_and_sample(plant_series(), {"sequence_index": "timestamp"}, 11, 250)))
    """
)


@pytest.mark.heavy
def test_single_series_keeps_time_order_and_is_byte_identical_in_a_fresh_process(
    sdv_home: Path, tmp_path: Path
) -> None:
    out = fit_and_sample(plant_series(), {"sequence_index": "timestamp"}, 11, 250)
    assert len(out) == 250 and list(out.columns) == ["timestamp", "LIT101", "FIT101", "P101"]
    assert out["timestamp"].is_monotonic_increasing, "windows are chained into one series"
    assert out["timestamp"].iloc[0] >= pd.Timestamp("2024-03-01T08:00:00")
    assert set(out["P101"].unique()) <= {0, 1}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "fresh")], cwd=ROOT, capture_output=True, text=True,
        check=True, timeout=300,
    )
    assert done.stdout.strip().splitlines()[-1] == digest(out)


def test_keyed_sequences_keep_context_and_get_fresh_keys(sdv_home: Path) -> None:
    parts = []
    for asset in range(6):
        part = plant_series(40, seed=asset)
        part.insert(0, "asset", f"tank-{asset}")
        part["zone"] = "north" if asset % 2 else "south"
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    sequence = {"sequence_key": "asset", "sequence_index": "timestamp", "context_columns": ["zone"]}
    out = fit_and_sample(frame, sequence, 5, 100)
    assert len(out) == 100
    for _, part in out.groupby("asset"):
        assert part["zone"].nunique() == 1, "context is constant within a sequence"
        assert part["timestamp"].is_monotonic_increasing
    assert out["asset"].min() == 0


def test_holdout_takes_whole_sequences() -> None:
    frame = plant_series(200)
    config = sequence_config({"sequence_index": "timestamp", "window": 20}, list(frame.columns), len(frame))
    train, holdout = split_sequences(frame, config, 0.2, 3)
    assert len(holdout) == 40 and len(train) == 160
    position = (holdout["timestamp"] - frame["timestamp"].iloc[0]).dt.total_seconds().astype(int)
    assert (position // 20).value_counts().eq(20).all(), "two whole 20-row windows"
    assert split_sequences(frame, config, 0.2, 3)[1].equals(holdout), "seeded"


def test_sequence_settings_are_checked() -> None:
    columns = ["asset", "timestamp", "level"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"sequence_key": "ghost"}, "sequence_key"),
        ({"sequence_index": "ghost"}, "sequence_index"),
        ({"sequence_key": "asset", "context_columns": ["ghost"]}, "context_columns.0"),
        ({"sequence_key": "asset", "context_columns": ["asset"]}, "context_columns.0"),
        ({"context_columns": ["level"]}, "context_columns"),
        ({"sequence_key": "asset", "sequence_index": "asset"}, "sequence_index"),
    ]
    for sequence, field in cases:
        with pytest.raises(SynthesisError) as raised:
            check_config(sequence, columns)
        assert raised.value.field == field, sequence
    with pytest.raises(SynthesisError) as raised:
        sequence_config({"window": 500}, columns, 100)
    assert raised.value.field == "window"
    assert default_epochs(300) > default_epochs(30_000) >= 16, "fewer steps as each step grows"


def test_sequence_metrics_tell_a_series_from_shuffled_rows() -> None:
    real = plant_series(1_200)
    shuffled = real.sample(frac=1.0, random_state=0).reset_index(drop=True)
    assert (lag1(real, "LIT101", None) or 0) > 0.9 and abs(lag1(shuffled, "LIT101", None) or 0) < 0.2
    same = sequence_report(real, real.copy(), {"sequence_index": "timestamp"}, 1)
    assert same["autocorrelation"]["max_gap"] == 0 and same["cross_correlation"]["mean_gap"] == 0
    assert same["discriminator"]["auc"] <= 0.75
    apart = sequence_report(real, shuffled, {"sequence_index": "timestamp"}, 1)
    assert apart["autocorrelation"]["columns"]["LIT101"]["gap"] > 0.7
    assert apart["discriminator"]["auc"] > 0.9 and apart["verdict"] == "poor"
    assert sequence_report(real.head(100), shuffled, {}, 1)["discriminator"]["auc"] is None, "too few windows"
