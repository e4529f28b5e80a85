"""A training job's estimate grows with the rows of the dataset it trains on (known at submit,
not from its params): gaussian_copula on 300 rows is estimated below one on 5,000, and a synthesize
job that trains its own model counts the same training time. `/v1/estimate`, which sees no dataset,
keeps the params-only figure."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from appliance.kinds.synth import train
from tests.conftest import auth
from tests.synth_data import adult_frame, upload_frame


def _submit(client: FlaskClient, key: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/jobs", json=body, headers=auth(key))
    assert response.status_code == 202, response.get_json()
    job: dict[str, Any] = response.get_json()
    return job


def test_training_estimates_follow_the_input_rows(client: FlaskClient, keys: dict[str, str]) -> None:
    small = upload_frame(client, keys["generate"], adult_frame(300), name="small.csv")
    large = upload_frame(client, keys["generate"], adult_frame(5000), name="large.csv")
    seconds = {}
    for name, ds in (("small", small), ("large", large)):
        job = _submit(client, keys["generate"], {"kind": "train", "params": {}, "inputs": [ds["id"]]})
        seconds[name] = job["estimate"]["seconds"]
    assert seconds == {
        "small": round(train.COPULA_FIXED_S + train.COPULA_ROW_S * 300, 2),
        "large": round(train.COPULA_FIXED_S + train.COPULA_ROW_S * 5000, 2),
    }
    capped = _submit(client, keys["generate"], {"kind": "train", "params": {"max_rows": 1000}, "inputs": [large["id"]]})
    assert capped["estimate"]["seconds"] == round(train.COPULA_FIXED_S + train.COPULA_ROW_S * 1000, 2)

    synth = _submit(client, keys["generate"], {"kind": "synthesize", "params": {"rows": 1000}, "inputs": [small["id"]]})
    assert synth["estimate"]["seconds"] == round(0.15 + 1000 / 170_000 + seconds["small"], 2)

    quoted = client.post("/v1/estimate", json={"kind": "train", "params": {}}, headers=auth(keys["read"])).get_json()
    assert quoted["estimated_seconds"] == train.TRAIN_FIXED_S  # no dataset given: the params-only figure


def test_neural_estimates_keep_their_epoch_formula(client: FlaskClient, keys: dict[str, str]) -> None:
    ds = upload_frame(client, keys["generate"], adult_frame(300))
    body = {"kind": "train", "params": {"synthesizer": "ctgan", "epochs": 20}, "inputs": [ds["id"]]}
    job = _submit(client, keys["generate"], body)
    assert job["estimate"]["seconds"] == train.training_seconds("ctgan", 20)
