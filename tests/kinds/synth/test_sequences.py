"""Sequential synthesis (``par``) through the API on the appliance's own plant data: a water-plant
simulation trained as one time series, then synthesized with its timestamps, rules and sequence report."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flask.testing import FlaskClient

from simulators import simulate
from tests.conftest import auth
from tests.kinds.synth.test_jobs import artifacts, download
from tests.kinds.synth.test_plant_data import SCENARIO, _upload
from tests.synth_data import adult_frame, upload_frame


@pytest.mark.heavy
def test_water_telemetry_as_a_series_keeps_order_rules_and_reports_sequences(
    client: FlaskClient, keys: dict[str, str], inline_jobs: Any
) -> None:
    telemetry: pa.Table = simulate(SCENARIO).table
    gen = auth(keys["generate"])
    ds = _upload(client, keys["generate"], telemetry)
    body = {"kind": "train", "inputs": [ds["id"]], "seed": 4,
            "params": {"synthesizer": "par", "sequence_index": "timestamp", "epochs": 4, "window": 40}}
    created = client.post("/v1/jobs", json=body, headers=gen)
    assert created.status_code == 202, created.get_json()
    train = inline_jobs.finish(client, gen, created.get_json()["id"])
    assert train["status"] == "succeeded", train["error"]
    result = train["result"]
    assert result["synthesizer"] == "par" and result["epochs"] == result["optimiser_steps"] == 4
    assert result["preparation_seconds"] > 0 and result["epoch_seconds"] > 0
    assert result["holdout_rows"] == 80, "two whole 40-row windows of 400 rows"

    body = {"params": {"model_id": result["model_id"], "rows": 300}, "seed": 9}
    created = client.post("/v1/synthesize/jobs", json=body, headers=gen)
    assert created.status_code == 202, created.get_json()
    job = inline_jobs.finish(client, gen, created.get_json()["job_id"])
    assert job["status"] == "succeeded", job["error"]
    files = artifacts(client, gen, job["id"])
    rows = pq.read_table(io.BytesIO(download(client, gen, files["rows.parquet"])))
    assert rows.num_rows == 300
    assert rows.schema.field("timestamp").type == telemetry.schema.field("timestamp").type
    stamps = rows.column("timestamp").cast(pa.int64()).to_numpy()
    assert np.all(np.diff(stamps) > 0), "one increasing series"
    assert np.all(stamps % 1000 == 0), "the telemetry's 1-s resolution"
    report = json.loads(download(client, gen, files["report.json"]))
    assert report["rules"]["held"] == report["rules"]["total"] > 0
    sequences = report["sequences"]
    assert sequences["autocorrelation"]["columns"]["LIT101"]["real"] > 0.5
    assert sequences["autocorrelation"]["columns"]["LIT101"]["synthetic"] is not None
    assert sequences["discriminator"]["window_rows"] == 60 and sequences["verdict"] in {"good", "poor", "unknown"}


def test_bad_sequence_params_are_400_naming_the_field(client: FlaskClient, keys: dict[str, str]) -> None:
    gen = auth(keys["generate"])
    ds = upload_frame(client, keys["generate"], adult_frame(40))
    cases = [
        ({"sequence_index": "age"}, "sequence_index"),
        ({"synthesizer": "par", "sequence_key": "ghost"}, "sequence_key"),
        ({"synthesizer": "par", "sequence_index": "ghost"}, "sequence_index"),
        ({"synthesizer": "par", "context_columns": ["income"]}, "context_columns"),
        ({"synthesizer": "par", "sequence_key": "workclass", "context_columns": ["ghost"]}, "context_columns.0"),
        ({"synthesizer": "par", "sequence_key": "workclass", "window": 10}, "window"),
        ({"synthesizer": "par", "class_column": "income"}, "class_column"),
        ({"synthesizer": "par", "window": 1}, "window"),
    ]
    for kind in ("train", "synthesize"):
        for params, field in cases:
            body = {"kind": kind, "inputs": [ds["id"]], "params": params}
            response = client.post("/v1/jobs", json=body, headers=gen)
            assert response.status_code == 400, (body, response.get_json())
            assert response.get_json()["error"]["details"][0]["field"] == f"params.{field}", (body, response.get_json())


@pytest.mark.heavy
def test_regime_var_trains_and_samples_a_series_through_the_api(
    client: FlaskClient, keys: dict[str, str], inline_jobs: Any
) -> None:
    telemetry: pa.Table = simulate(SCENARIO).table
    gen = auth(keys["generate"])
    ds = _upload(client, keys["generate"], telemetry)
    body = {"kind": "train", "inputs": [ds["id"]], "seed": 4,
            "params": {"synthesizer": "regime_var", "sequence_index": "timestamp", "window": 40}}
    created = client.post("/v1/jobs", json=body, headers=gen)
    assert created.status_code == 202, created.get_json()
    train = inline_jobs.finish(client, gen, created.get_json()["id"])
    assert train["status"] == "succeeded", train["error"]
    result = train["result"]
    assert result["synthesizer"] == "regime_var" and result["epochs"] is None
    assert result["lags"] >= 1 and result["regimes"] >= 2 and result["holdout_rows"] == 80

    body = {"params": {"model_id": result["model_id"], "rows": 600}, "seed": 9}
    created = client.post("/v1/synthesize/jobs", json=body, headers=gen)
    assert created.status_code == 202, created.get_json()
    job = inline_jobs.finish(client, gen, created.get_json()["job_id"])
    assert job["status"] == "succeeded", job["error"]
    files = artifacts(client, gen, job["id"])
    rows = pq.read_table(io.BytesIO(download(client, gen, files["rows.parquet"])))
    assert rows.num_rows == 600, "longer than the real series: the chain runs on"
    assert rows.schema.field("timestamp").type == telemetry.schema.field("timestamp").type
    stamps = rows.column("timestamp").cast(pa.int64()).to_numpy()
    assert np.all(np.diff(stamps) == 1000), "one series at the telemetry's 1-s step"
    report = json.loads(download(client, gen, files["report.json"]))
    assert report["rules"]["held"] == report["rules"]["total"] > 0
    assert report["sequences"]["autocorrelation"]["columns"]["LIT101"]["synthetic"] > 0.5


def test_regime_var_params_are_checked_at_submit(client: FlaskClient, keys: dict[str, str]) -> None:
    gen = auth(keys["generate"])
    ds = upload_frame(client, keys["generate"], adult_frame(40))
    cases = [
        ({"synthesizer": "regime_var", "epochs": 5}, "epochs"),
        ({"synthesizer": "regime_var", "class_column": "income"}, "class_column"),
        ({"synthesizer": "regime_var", "sequence_index": "ghost"}, "sequence_index"),
        ({"synthesizer": "regime_var", "sequence_key": "workclass", "window": 10}, "window"),
    ]
    for params, field in cases:
        response = client.post("/v1/jobs", json={"kind": "train", "inputs": [ds["id"]], "params": params},
                               headers=gen)
        assert response.status_code == 400, (params, response.get_json())
        assert response.get_json()["error"]["details"][0]["field"] == f"params.{field}", response.get_json()
