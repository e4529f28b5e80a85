"""Sampling by class through the API: a synthesize job trained with class_column samples the asked
proportions, a model trained with it samples one class under a condition, and TSTR evaluates it."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask.testing import FlaskClient

from tests.conftest import auth
from tests.kinds.synth.test_jobs import artifacts, download
from tests.synth_data import adult_frame, upload_frame


def _rows(client: FlaskClient, headers: dict[str, str], job_id: str) -> list[dict[str, str]]:
    files = artifacts(client, headers, job_id)
    return list(csv.DictReader(io.StringIO(download(client, headers, files["rows.csv"]).decode())))


def test_class_proportions_conditions_and_tstr_through_the_api(
    client: FlaskClient, keys: dict[str, str], inline_jobs: Any
) -> None:
    gen = auth(keys["generate"])
    ds = upload_frame(client, keys["generate"], adult_frame(300))
    params = {"synthesizer": "gaussian_copula", "class_column": "income", "rows": 200, "format": "csv",
              "class_proportions": {">50K": 1, "<=50K": 1}}
    created = client.post("/v1/jobs", json={"kind": "synthesize", "inputs": [ds["id"]], "params": params,
                                            "seed": 2}, headers=gen)
    assert created.status_code == 202, created.get_json()
    job = inline_jobs.finish(client, gen, created.get_json()["id"])
    incomes = [r["income"] for r in _rows(client, gen, job["id"])]
    assert incomes.count(">50K") == incomes.count("<=50K") == 100

    train = client.post("/v1/jobs", json={"kind": "train", "inputs": [ds["id"]], "params": {"class_column": "income"},
                                          "seed": 3}, headers=gen)
    model_id = inline_jobs.finish(client, gen, train.get_json()["id"])["result"]["model_id"]
    body = {"kind": "synthesize", "params": {"model_id": model_id, "rows": 50, "format": "csv",
                                             "conditions": {"income": ">50K"}}, "seed": 4}
    one_class = inline_jobs.finish(client, gen, client.post("/v1/jobs", json=body, headers=gen).get_json()["id"])
    assert {r["income"] for r in _rows(client, gen, one_class["id"])} == {">50K"}

    body = {"kind": "synthesize", "params": {"model_id": model_id, "rows": 300}, "seed": 5}
    sampled = inline_jobs.finish(client, gen, client.post("/v1/jobs", json=body, headers=gen).get_json()["id"])
    evaluation = client.post("/v1/evaluations", json={"job_id": sampled["id"], "target": "income"}, headers=gen)
    assert evaluation.status_code == 201, evaluation.get_json()
    scores = evaluation.get_json()
    assert scores["tstr"]["f1"] is not None and scores["trtr"]["f1"] is not None

    plain = client.post("/v1/jobs", json={"kind": "train", "inputs": [ds["id"]], "seed": 3}, headers=gen)
    plain_id = inline_jobs.finish(client, gen, plain.get_json()["id"])["result"]["model_id"]
    refused = client.post("/v1/jobs", json={"kind": "synthesize", "params": {
        "model_id": plain_id, "class_proportions": {">50K": 1}}}, headers=gen)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["details"][0]["field"] == "params.class_proportions"


def test_bad_class_params_are_400_naming_the_field(client: FlaskClient, keys: dict[str, str]) -> None:
    gen = auth(keys["generate"])
    ds = upload_frame(client, keys["generate"], adult_frame(40))
    cases = [
        ({"kind": "train", "inputs": [ds["id"]], "params": {"class_column": "ghost"}}, "params.class_column"),
        ({"kind": "synthesize", "inputs": [ds["id"]], "params": {"class_proportions": {">50K": 1}}},
         "params.class_proportions"),
        ({"kind": "synthesize", "inputs": [ds["id"]], "params": {"class_column": "income",
                                                                  "class_proportions": {">50K": -1}}},
         "params.class_proportions.>50K.value"),
        ({"kind": "train", "inputs": [ds["id"], ds["id"]], "params": {"synthesizer": "hma", "class_column": "income"}},
         "params.class_column"),
    ]
    for body, field in cases:
        response = client.post("/v1/jobs", json=body, headers=gen)
        assert response.status_code == 400, (body, response.get_json())
        assert response.get_json()["error"]["details"][0]["field"] == field, (body, response.get_json())
